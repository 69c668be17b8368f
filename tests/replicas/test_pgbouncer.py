"""Behind a real PgBouncer in transaction pooling mode, with Django's connection pool on: the application works.

PgBouncer (Debian's package) listens on a free loopback port in front of the primary and the replica of
tests/replicas/cluster.py; gunicorn reaches both only through it, with `CMS_PREPARED_STATEMENTS=0` (a
transaction pooler cannot keep a prepared statement from one transaction to the next) and `CMS_DB_POOL`.
A representative slice runs through it: API reads, a list, a PUT and its read back, a staff page, a status
change through the staff form, and `cms_export`. PgBouncer's own statistics show the traffic passed it.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest

from .cluster import BASE_DIR, app_env, as_server_user, free_port, marker, run, serving
from .test_live import ACCOUNT, api, change_status, ran_on, served_by, staff

pytestmark = pytest.mark.postgres


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(path)), None
    )


@contextmanager
def pgbouncer(clusters):
    binary = pgbouncer_binary()
    if binary is None:
        pytest.skip("needs PgBouncer: apt-get install pgbouncer")
    folder = clusters.root / "pgbouncer"
    folder.mkdir(exist_ok=True)
    port = free_port()
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"cms = host=127.0.0.1 port={clusters.primary.port} dbname=cms\n"
        f"cms_replica = host=127.0.0.1 port={clusters.replica.port} dbname=cms\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\nadmin_users = postgres\n"
        "pool_mode = transaction\ndefault_pool_size = 4\nmax_client_conn = 50\n"
        f"logfile = {folder / 'pgbouncer.log'}\n"
    )
    if os.geteuid() == 0:
        for path in (folder, *folder.iterdir()):
            shutil.chown(path, "postgres")
    process = subprocess.Popen(  # noqa: S603 (Debian's pgbouncer, our own config)
        as_server_user([binary, str(folder / "pgbouncer.ini")]),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        while subprocess.run(  # noqa: S603 (PostgreSQL's own client program)
            [str(clusters.primary.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-d", "cms"],
            check=False,
            timeout=10,
        ).returncode:
            assert process.poll() is None, process.stdout.read().decode(errors="replace")
            assert time.monotonic() < deadline, "pgbouncer did not answer in 15 s"
            time.sleep(0.1)
        yield port
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=5)


def transactions(clusters, port: int) -> dict[str, int]:
    """PgBouncer's count of transactions per database (its admin console speaks the simple protocol: psql)."""
    out = run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "-At",
            "-F",
            "|",
            "pgbouncer",
            "-c",
            "SHOW STATS",
        ]
    )
    counts = {}
    for line in out.stdout.splitlines():
        fields = line.split("|")
        counts[fields[0]] = int(fields[1])
    return counts


def test_the_application_works_behind_pgbouncer_in_transaction_mode_with_a_pool(replicated, tmp_path):
    with pgbouncer(replicated) as port:
        env = {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/cms",
            "DATABASE_REPLICA_URLS": f"postgres://postgres@127.0.0.1:{port}/cms_replica",
            "CMS_PREPARED_STATEMENTS": "0",
            "CMS_DB_POOL": "1:3",
            "CMS_DB_CONNECT_TIMEOUT": "2",
            "CMS_REPLICA_CHECK_SECONDS": "0.2",
            "CMS_REPLICA_MAX_LAG_SECONDS": "30",
            "GUNICORN_THREADS": "2",
        }
        with serving(tmp_path, **env) as app:
            client, browser = api(app, replicated), staff(app, replicated)
            term = marker()
            for _ in range(3):  # more requests than one connection's worth: pooled connections are reused
                *_, before = served_by(replicated, lambda: client.get(ACCOUNT))
                assert ran_on(replicated, before, "7700101") == {"replica"}
                *_, before = served_by(replicated, lambda: client.get(f"/v1/customer_accounts?domain={term}"))
                assert ran_on(replicated, before, term) == {"replica"}
            _, _, body, _ = served_by(replicated, lambda: client.get("/v1/customer_accounts?limit=5"))
            assert len(json.loads(body)["customerAccount"]) == 5

            key = f"support:{term}"
            status, _, content = client.request(
                "PUT",
                f"{ACCOUNT}/metadata/{key}",
                json.dumps({"meta": {key: "through pgbouncer"}}).encode(),
                headers={"Content-Type": "application/json"},
            )
            assert status == 204, content
            _, _, content, before = served_by(replicated, lambda: client.get(f"{ACCOUNT}/metadata/{key}"))
            assert json.loads(content) == {"meta": {key: "through pgbouncer"}}
            assert ran_on(replicated, before, key) == {"primary"}

            *_, before = served_by(replicated, lambda: browser.get(f"/accounts/?q={term}-page"))
            assert ran_on(replicated, before, f"{term}-page") == {"replica"}

            location = change_status(browser, "/accounts/CLOUD/7700105/status/", "Delinquent")
            _, _, page, _ = served_by(replicated, lambda: browser.get(location))
            assert b"Delinquent" in page
            log = app.log_text()
            assert "Traceback" not in log and "Database unavailable" not in log, log[-3000:]

        result = run([sys.executable, "manage.py", "cms_export", "-"], cwd=BASE_DIR, env=app_env(**env), timeout=120)
        assert '"7700105"' in result.stdout
        counts = transactions(replicated, port)
        assert counts["cms"] > 0 and counts["cms_replica"] > 0, counts


def test_with_the_pool_on_an_unreachable_database_is_a_quick_503_not_a_hang(tmp_path):
    nowhere = f"postgres://postgres@127.0.0.1:{free_port()}/cms"
    env = {"DATABASE_URL": nowhere, "CMS_DB_POOL": "1:2", "CMS_DB_CONNECT_TIMEOUT": "1", "CMS_DB_POOL_TIMEOUT": "1.5"}
    with serving(tmp_path, **env) as app:
        for path in ("/v1/customer_accounts", "/healthz"):
            started = time.monotonic()
            status, _, body = app.request("GET", path, headers={"X-Auth-Token": "any"})
            assert status == 503, body[:500]
            assert 1.0 < time.monotonic() - started < 6  # the pool waited its timeout, then gave up
        assert "couldn't get a connection after 1.50 sec" in app.log_text()
