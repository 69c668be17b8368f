"""Start and stop gunicorn for cmsportal and for the floor app, with the production settings."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def django_env(database_url: str, **extra: str) -> dict:
    """The environment cmsportal runs with in the benchmark: production settings, DEBUG off."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class Server:
    """A gunicorn process serving `app` on a free localhost port, using gunicorn.conf.py."""

    def __init__(self, app: str, database_url: str, log_path: Path, **env: str):
        self.app = app
        self.port = free_port()
        self.log_path = log_path
        self.env = django_env(database_url, GUNICORN_BIND=f"127.0.0.1:{self.port}", **env)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> "Server":
        gunicorn = Path(sys.executable).with_name("gunicorn")
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the server's lifetime)
        self.process = subprocess.Popen(
            [str(gunicorn), "-c", str(ROOT / "gunicorn.conf.py"), self.app],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.app} exited at start; see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.app} did not listen within {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            # gunicorn's master stops its workers on SIGTERM; only our own process group is signalled.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
