"""A PostgreSQL primary and its streaming replica of our own (bench/pgcluster.py), and gunicorn serving them.

The primary is migrated and seeded by the project's own `manage.py migrate` and factories; both servers log
every statement (`log_statement = all`) to a file of their own, so a test can tell which server ran a query.
"""

import http.client
import json
import os
import signal
import sys
import urllib.parse
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from bench.pgcluster import Pair, PgServer, as_server_user, run, server_bindir, streaming_pair
from bench.servers import free_port, start_gunicorn, stop_gunicorn

__all__ = [
    "BASE_DIR",
    "App",
    "Browser",
    "Clusters",
    "Server",
    "app_env",
    "as_server_user",
    "clusters",
    "free_port",
    "marker",
    "run",
    "server_bindir",
    "serving",
]

BASE_DIR = Path(settings.BASE_DIR)
DBNAME = "cms"

Server = PgServer
Clusters = Pair


SEED = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
from cmsportal.identity import services as identity
from tests.factories import AccountFactory, UserFactory
user = UserFactory(username="replica-staff", is_staff=True, is_superuser=True)
for number in range(1, 11):
    AccountFactory(account_id=str(7700100 + number))
client = Client()
client.force_login(user)
print(json.dumps({"token": identity.token_issue(user, [identity.PASSWORD])[1],
                  "session": client.cookies[settings.SESSION_COOKIE_NAME].value}))
"""


def app_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "DJANGO_", "CMS_", "REDIS_"))}
    env.pop("DATABASE_URL", None)
    env.pop("DATABASE_REPLICA_URLS", None)
    env.update(DJANGO_SETTINGS_MODULE="cmsportal.settings", DJANGO_SECRET_KEY=settings.SECRET_KEY, DJANGO_DEBUG="0")
    env.update(extra)
    return env


def _seed(primary: PgServer) -> dict:
    env = app_env(DATABASE_URL=primary.url())
    run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, timeout=180)
    out = run([sys.executable, "-c", SEED], cwd=BASE_DIR, env=env, timeout=120).stdout
    return json.loads(out.strip().splitlines()[-1])


@contextmanager
def clusters():
    """The primary (migrated; a staff user, its token and session, ten accounts: `.seed`) and its replica, both
    logging every statement."""
    with streaming_pair(_seed, log_statements=True) as pair:
        pair.seed = pair.prepared
        yield pair


# --- the application --------------------------------------------------------------------------------------


class App:
    """gunicorn serving cmsportal: HTTP requests with a cookie jar per client."""

    def __init__(self, port: int, log: Path):
        self.port, self.log = port, log

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


class Browser:
    """A client that keeps cookies (the session, CSRF, the read-your-writes cookie)."""

    def __init__(self, app: App, cookies: dict | None = None, headers: dict | None = None):
        self.app, self.cookies, self.headers = app, dict(cookies or {}), dict(headers or {})

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        sent = {**self.headers, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        status, response_headers, content = self.app.request(method, path, body, sent)
        for name, value in response_headers:
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                self.cookies[key.strip()] = val.strip().strip('"')
        return status, dict((k.lower(), v) for k, v in response_headers), content

    def get(self, path: str, **headers):
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, fields: dict):
        body = urllib.parse.urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://127.0.0.1:{self.app.port}/"}
        if "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        return self.request("POST", path, body, headers)


def marker() -> str:
    return f"m{uuid.uuid4().hex[:12]}"


@contextmanager
def serving(tmp_path: Path, **env: str):
    """gunicorn (by default one worker, one thread: one replica state to reason about) with `env`."""
    port = free_port()
    full = app_env(**{"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "1", "GUNICORN_LOGLEVEL": "warning", **env})
    log = tmp_path / f"gunicorn-{port}.log"
    process = start_gunicorn("cmsportal.wsgi", full, log, port)
    try:
        yield App(port, log)
    finally:
        stop_gunicorn(process, signal.SIGTERM)  # graceful: a gthread worker told to quit at once can hang 30 s
