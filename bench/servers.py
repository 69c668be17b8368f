"""Start and stop gunicorn for cmsportal and for the floor app, with the production settings."""

import http.client
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


def start_gunicorn(
    app: str, env: dict, log_path: Path, port: int, *, ready_path: str = "/healthz", timeout: float = 30.0
) -> subprocess.Popen:
    """gunicorn (gunicorn.conf.py) serving `app` on 127.0.0.1:`port` with exactly `env`, in a process group of its
    own; returns once it answers HTTP on `ready_path` (whatever the status). The one start loop of the tests and
    the benchmark."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 (our own venv's gunicorn, fixed arguments)
            [str(gunicorn), app, "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the master and its workers stop together
        )
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn ({app}) exited at start:\n{_tail(log_path)}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=max(1.0, deadline - time.monotonic()))
        try:
            conn.request("GET", ready_path)
            conn.getresponse().read()
            return process
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                stop_gunicorn(process, signal.SIGKILL)
                raise RuntimeError(f"gunicorn ({app}) did not answer in {timeout:g} s:\n{_tail(log_path)}") from None
            time.sleep(0.1)
        finally:
            conn.close()


def stop_gunicorn(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Stops gunicorn's process group (SIGTERM: graceful; SIGINT: quick), then kills it if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _tail(path: Path, size: int = 5000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""


class Server:
    """A gunicorn process serving `app` on a free localhost port, using gunicorn.conf.py."""

    def __init__(self, app: str, database_url: str, log_path: Path, **env: str):
        self.app = app
        self.port = free_port()
        self.log_path = log_path
        self.env = django_env(database_url, **env)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> "Server":
        # Any answer will do (the floor has no /healthz): the workers are up.
        self.process = start_gunicorn(self.app, self.env, self.log_path, self.port, ready_path="/", timeout=timeout)
        return self

    def stop(self) -> None:
        if self.process:
            # gunicorn's master stops its workers on SIGTERM; only our own process group is signalled.
            stop_gunicorn(self.process, signal.SIGTERM)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def run_json_module(module: str, args: list[str], database_url: str, **env: str) -> dict:
    """`python -m module *args --json FILE` on `database_url` in a process of its own (the benchmark's
    environment, `env` added); the JSON it wrote."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        target = Path(folder) / "results.json"
        result = subprocess.run(
            [sys.executable, "-m", module, *args, "--json", str(target)],
            cwd=ROOT,
            env=django_env(database_url, **env),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not target.exists():
            raise RuntimeError(f"{module} failed: {(result.stderr or result.stdout)[-400:]}")
        return json.loads(target.read_text())
