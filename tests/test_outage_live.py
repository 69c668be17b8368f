"""Real outages on PostgreSQL: a gunicorn server (gunicorn.conf.py, 2 workers) whose database is away.

(a) pointed at a port where nothing listens; (b) serving a database of its own that is taken away
while it serves (connections terminated, connections refused, the database renamed) and then given
back. Every answer is a 503 within seconds while the database is away, and the same server answers
200 again by itself when it returns. Every wait is bounded; what the tests create, they drop.
"""

import http.client
import json
import os
import signal
import socket
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import Client
from psycopg import sql

from bench.servers import free_port, start_gunicorn, stop_gunicorn
from cmsportal import outage
from cmsportal.identity import services as identity
from cmsportal.identity import tokencache
from tests.factories import AccountFactory, StaffFactory

pytestmark = pytest.mark.postgres

BASE_DIR = Path(settings.BASE_DIR)
ACCOUNT = "/v1/customer_accounts/CLOUD/1"
QUICKLY = 6.0  # seconds: the connect timeout (2 s here) and some slack for a busy machine


def database_url(name: str, port: int | None = None) -> str:
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{port or db['PORT'] or 5432}/{name}"


class Server:
    """A gunicorn serving cmsportal on a free loopback port; `get` answers (status, headers, body, seconds)."""

    def __init__(self, port: int, log: Path):
        self.port = port
        self.log = log

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            content = response.read()
        finally:
            conn.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, content, time.monotonic() - started

    def get(self, path: str, **headers):
        return self.request("GET", path, headers={k.replace("_", "-"): v for k, v in headers.items()})

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serving(url: str, tmp_path: Path):
    """gunicorn with gunicorn.conf.py (2 workers) on `url`, stopped (its process group) on the way out."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "DJANGO_", "CMS_", "REDIS_"))}
    env.pop("DATABASE_REPLICA_URLS", None)
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="cmsportal.settings",
        DJANGO_SECRET_KEY=settings.SECRET_KEY,  # the sessions the tests sign are valid there too
        DJANGO_DEBUG="0",
        CMS_DB_CONNECT_TIMEOUT="2",
        GUNICORN_WORKERS="2",
        GUNICORN_THREADS="2",
        GUNICORN_LOGLEVEL="warning",
    )
    log = tmp_path / f"gunicorn-{port}.log"
    process = start_gunicorn("cmsportal.wsgi", env, log, port)
    try:
        yield Server(port, log)
    finally:
        stop_gunicorn(process, signal.SIGINT)  # quick shutdown: nothing to finish


def assert_fault(answer, xml: bool = False):
    status, headers, body, seconds = answer
    assert status == 503, body[:500]
    assert headers["retry-after"] == str(outage.RETRY_AFTER)
    assert seconds < QUICKLY
    if xml:
        assert headers["content-type"].startswith("application/xml")
        assert b"<serviceUnavailable" in body and b'code="503"' in body
    else:
        assert headers["content-type"].startswith("application/json")
        assert json.loads(body)["serviceUnavailable"]["code"] == 503


def assert_page(answer):
    status, headers, body, seconds = answer
    assert status == 503, body[:500]
    assert headers["content-type"].startswith("text/html")
    assert b"Temporarily unavailable" in body
    assert seconds < QUICKLY


def assert_health(answer, status: int):
    assert answer[0] == status, answer[2][:500]
    assert json.loads(answer[2]) == {"status": "ok" if status == 200 else "unavailable"}
    assert answer[3] < QUICKLY


def assert_quiet(server: Server):
    """One line per failure: no traceback in the server's log."""
    text = server.log_text()
    assert "Traceback" not in text, text[-5000:]


# --- (a) nothing listens where the database should be ----------------------------------------------------


def test_a_server_whose_database_is_unreachable_answers_503_quickly(tmp_path):
    with serving(database_url("cms_outage_nowhere", port=free_port()), tmp_path) as server:
        session = {"Cookie": f"{settings.SESSION_COOKIE_NAME}=some-session-key-0123456789"}
        assert_fault(server.get(ACCOUNT, X_Auth_Token="any-token"))
        assert_fault(server.get(f"{ACCOUNT}.xml", X_Auth_Token="any-token"), xml=True)
        assert_fault(server.get(ACCOUNT, X_Auth_Token="any-token", Accept="application/xml"), xml=True)
        credentials = {"auth": {"passwordCredentials": {"username": "jane", "password": "secret"}}}
        assert_fault(
            server.request(
                "POST", "/v2.0/tokens", json.dumps(credentials).encode(), {"Content-Type": "application/json"}
            )
        )
        assert_health(server.get("/healthz"), 503)
        assert_page(server.get("/", **session))
        assert_page(server.get("/admin/", **session))
        assert_quiet(server)
        assert server.log_text().count("Database unavailable") >= 7


@pytest.mark.django_db(transaction=True)
def test_connecting_to_a_server_that_never_answers_gives_up_after_the_connect_timeout():
    assert connection.settings_dict["OPTIONS"]["connect_timeout"] == 3  # CMS_DB_CONNECT_TIMEOUT's default
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts the TCP connection, never says a word
        params = {**connection.settings_dict, "PORT": silent.getsockname()[1]}
        wrapper = connections.create_connection("default").__class__(params, alias="silent")
        started = time.monotonic()
        with pytest.raises(Exception) as raised:  # noqa: B017 (the class is asserted below)
            wrapper.ensure_connection()
        assert outage.database_unavailable(raised.value)
        assert time.monotonic() - started < QUICKLY


# --- (b) the database goes away while the server serves, and comes back ----------------------------------


@contextmanager
def temporary_database(template: str):
    """A copy of `template` (as its own database, dropped afterwards) and an admin connection to move it."""
    db = connection.settings_dict
    name = f"{template}_served_{os.getpid()}"
    away = f"{name}_away"
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"] or "postgres", dbname="postgres"
    ) as admin:
        admin.autocommit = True
        connections.close_all()  # a template must have no other sessions (nor the token cache's LISTEN)
        tokencache.cache.close()
        for stale in (name, away):
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(stale)))
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
        try:
            yield name, admin
        finally:
            for created in (name, away):
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(created)))


def terminate(admin, name: str):
    """End every session on `name`, and wait (bounded) until the server has let them go."""
    admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
    deadline = time.monotonic() + 10
    while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]).fetchone()[0]:
        assert time.monotonic() < deadline, "sessions survived pg_terminate_backend"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_server_whose_database_goes_away_answers_503_and_recovers_by_itself(tmp_path):
    AccountFactory(account_id="1")
    staff = StaffFactory(username="outage-staff")
    token = identity.token_issue(staff, [identity.PASSWORD])[1]
    client = Client()
    client.force_login(staff)
    session = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"}

    with (
        temporary_database(connection.settings_dict["NAME"]) as (name, admin),
        serving(database_url(name), tmp_path) as server,
    ):
        ident = sql.Identifier(name)

        def all_answer(status: int, rounds: int = 4):
            # Several rounds: two workers of two threads each hold their own connections.
            for _ in range(rounds):
                assert server.get(ACCOUNT, X_Auth_Token=token)[0] == status
                assert server.get(f"{ACCOUNT}.xml", X_Auth_Token=token)[0] == status
                assert server.get("/", **session)[0] == status
                assert server.get("/healthz")[0] == status

        all_answer(200)

        # Its connections terminated (a restart, an administrator): replaced before use, not one failure.
        terminate(admin, name)
        all_answer(200)

        # No connections accepted, then the database renamed away.
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(ident))
        terminate(admin, name)
        assert_fault(server.get(ACCOUNT, X_Auth_Token=token))
        assert_health(server.get("/healthz"), 503)
        admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(ident, sql.Identifier(f"{name}_away")))
        for _ in range(3):
            assert_fault(server.get(ACCOUNT, X_Auth_Token=token))
            assert_fault(server.get(f"{ACCOUNT}.xml", X_Auth_Token=token), xml=True)
            assert_page(server.get("/", **session))
            assert_page(server.get("/admin/", **session))
            assert_health(server.get("/healthz"), 503)

        # Given back: the same server answers again by itself, on every worker and thread.
        admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(f"{name}_away"), ident))
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(ident))
        all_answer(200)
        assert_health(server.get("/healthz"), 200)
        assert_quiet(server)


@pytest.mark.django_db(transaction=True)
def test_a_connection_broken_mid_request_is_discarded_at_the_end_of_it():
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    connection.health_check_done = True  # mid-request: the check before the first query is behind us
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone()[0] is True  # waits
    with pytest.raises(Exception) as raised, connection.cursor() as cursor:  # noqa: B017 (asserted below)
        cursor.execute("SELECT 1")
    assert outage.database_unavailable(raised.value)
    # What Django runs when the request finishes (request_finished -> close_old_connections).
    connection.close_if_unusable_or_obsolete()
    assert connection.connection is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
