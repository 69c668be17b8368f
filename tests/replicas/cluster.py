"""A PostgreSQL primary and its streaming replica of our own, on free loopback ports, and gunicorn serving them.

The primary is a fresh cluster (initdb) in a temporary folder, migrated and seeded by the project's own
`manage.py migrate` and factories; the replica is `pg_basebackup -R` of it, streaming from it. Both log
every statement (`log_statement = all`) to a file of their own, so a test can tell which server ran a
query. PostgreSQL's server programs refuse to run as root: as root they run as the `postgres` user.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
GUNICORN = Path(sys.executable).with_name("gunicorn")
DBNAME = "cms"
PROGRAMS = ("initdb", "pg_ctl", "pg_basebackup")


def server_bindir() -> Path | None:
    """The newest PostgreSQL server binaries on this machine, or None."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True):
        if all((candidate / name).exists() for name in PROGRAMS):
            return candidate
    found = shutil.which("pg_ctl")
    if found and all(shutil.which(name) for name in PROGRAMS):
        return Path(found).parent
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def run(args: list[str], timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)  # noqa: S603
    assert result.returncode == 0, f"{args[:4]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


class Server:
    """One PostgreSQL server: its data folder, port and statement log."""

    def __init__(self, bindir: Path, datadir: Path, port: int):
        self.bindir, self.datadir, self.port = bindir, datadir, port
        self.log = datadir.parent / f"{datadir.name}.log"

    def pg_ctl(self, *args: str, timeout: float = 30):
        return run(as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args]), timeout=timeout)

    def start(self):
        self.pg_ctl("-l", str(self.log), "-w", "-t", "25", "start")

    def stop(self, mode: str = "fast"):
        self.pg_ctl("-m", mode, "-w", "stop")

    def running(self) -> bool:
        status = subprocess.run(  # noqa: S603
            as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "status"]),
            capture_output=True,
            timeout=30,
            check=False,
        )
        return status.returncode == 0

    def url(self, dbname: str = DBNAME) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = DBNAME) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def ran(self, marker: str) -> bool:
        """Whether this server logged a statement (or its parameters) containing `marker`."""
        return marker in self.log_text()


class Clusters:
    def __init__(self, root: Path, primary: Server, replica: Server, seed: dict):
        self.root, self.primary, self.replica, self.seed = root, primary, replica, seed

    def wait_replayed(self, timeout: float = 10):
        """Until the replica has replayed everything the primary has written (bounded)."""
        with self.primary.connect() as primary:
            target = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
        deadline = time.monotonic() + timeout
        with self.replica.connect() as replica:
            while not replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]:
                assert time.monotonic() < deadline, "the replica did not catch up"
                time.sleep(0.05)


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


@contextmanager
def clusters():
    bindir = server_bindir()
    root = Path(tempfile.mkdtemp(prefix="cms-replicas-"))
    os.chmod(root, 0o755)  # noqa: S103 (the server user enters it; it holds only throwaway test clusters)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    primary = Server(bindir, root / "primary", free_port())
    replica = Server(bindir, root / "replica", free_port())
    started = []
    try:
        run(
            as_server_user([str(bindir / "initdb"), "-D", str(primary.datadir), "-U", "postgres", "--auth=trust"])
            + ["-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
        )
        common = (
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{root}'\n"
            "fsync = off\nfull_page_writes = off\nlog_statement = 'all'\n"
            "log_line_prefix = '%m [%p] %d '\nmax_connections = 50\nshared_buffers = 16MB\n"
        )
        with (primary.datadir / "postgresql.conf").open("a") as conf:
            conf.write(common + f"port = {primary.port}\n")
        primary.start()
        started.append(primary)
        with primary.connect("postgres") as admin:
            admin.execute(f"CREATE DATABASE {DBNAME}")
        env = app_env(DATABASE_URL=primary.url())
        run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, timeout=180)
        seed = json.loads(
            run([sys.executable, "-c", SEED], cwd=BASE_DIR, env=env, timeout=120).stdout.strip().splitlines()[-1]
        )
        run(
            as_server_user([str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port)])
            + ["-U", "postgres", "-D", str(replica.datadir), "-R", "-X", "stream", "-c", "fast", "--no-sync"],
            timeout=120,
        )
        with (replica.datadir / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {replica.port}\nhot_standby = on\n")
        replica.start()
        started.append(replica)
        yield Clusters(root, primary, replica, seed)
    finally:
        for server in reversed(started):
            if server.running():
                server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


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
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (our own venv's gunicorn, fixed arguments)
            [str(GUNICORN), "cmsportal.wsgi", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"],
            cwd=BASE_DIR,
            env=full,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    app = App(port, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"gunicorn exited:\n{app.log_text()}"
            try:
                app.request("GET", "/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, f"gunicorn did not answer in 30 s:\n{app.log_text()}"
                time.sleep(0.1)
        yield app
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
