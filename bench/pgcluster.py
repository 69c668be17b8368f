"""A PostgreSQL primary and its streaming replica of our own, on free loopback ports (tests and bench alike).

The primary is a fresh cluster (initdb) in a temporary folder; `prepare(primary)` fills it (create the
database, migrate, seed or import); the replica is then `pg_basebackup -R` of it, streaming from it. With
`log_statements` both log every statement to a file of their own, so a test can tell which server ran a
query. PostgreSQL's server programs refuse to run as root: as root they run as the `postgres` user.

No Django here: the benchmark harness runs outside it. tests/replicas/cluster.py adds the test data.
"""

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from .servers import free_port

__all__ = ["PROGRAMS", "Pair", "PgServer", "as_server_user", "run", "server_bindir", "streaming_pair"]

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


def as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def run(args: list[str], timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)  # noqa: S603
    if result.returncode != 0:
        raise AssertionError(f"{args[:4]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


class PgServer:
    """One PostgreSQL server: its data folder, port and log."""

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


@dataclass
class Pair:
    root: Path
    primary: PgServer
    replica: PgServer
    prepared: Any  # what `prepare` answered

    def wait_replayed(self, timeout: float = 10):
        """Until the replica has replayed everything the primary has written (bounded)."""
        with self.primary.connect() as primary:
            target = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
        deadline = time.monotonic() + timeout
        with self.replica.connect() as replica:
            while not replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise AssertionError("the replica did not catch up")
                time.sleep(0.05)


@contextmanager
def streaming_pair(
    prepare: Callable[[PgServer], Any],
    *,
    log_statements: bool = False,
    settings: str = "",
    prepare_timeout: float = 180,
) -> Iterator[Pair]:
    """A primary (created, then filled by `prepare`) and its streaming replica; both removed on the way out.

    `settings`: extra postgresql.conf lines for both (e.g. shared_buffers for a benchmark)."""
    bindir = server_bindir()
    if bindir is None:
        raise RuntimeError("needs PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup)")
    root = Path(tempfile.mkdtemp(prefix="cms-replicas-"))
    os.chmod(root, 0o755)  # noqa: S103 (the server user enters it; it holds only throwaway clusters)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    primary = PgServer(bindir, root / "primary", free_port())
    replica = PgServer(bindir, root / "replica", free_port())
    started = []
    try:
        run(
            as_server_user([str(bindir / "initdb"), "-D", str(primary.datadir), "-U", "postgres", "--auth=trust"])
            + ["-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
        )
        common = (
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{root}'\n"
            "fsync = off\nfull_page_writes = off\n"
            + ("log_statement = 'all'\n" if log_statements else "")
            + "log_line_prefix = '%m [%p] %d '\nmax_connections = 50\nshared_buffers = 16MB\n"
            + settings
        )
        with (primary.datadir / "postgresql.conf").open("a") as conf:
            conf.write(common + f"port = {primary.port}\n")
        primary.start()
        started.append(primary)
        with primary.connect("postgres") as admin:
            admin.execute(f"CREATE DATABASE {DBNAME}")
        prepared = prepare(primary)
        run(
            as_server_user([str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port)])
            + ["-U", "postgres", "-D", str(replica.datadir), "-R", "-X", "stream", "-c", "fast", "--no-sync"],
            timeout=prepare_timeout,
        )
        with (replica.datadir / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {replica.port}\nhot_standby = on\n")
        replica.start()
        started.append(replica)
        yield Pair(root, primary, replica, prepared)
    finally:
        for server in reversed(started):
            if server.running():
                server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
