"""The benchmark data set: a PostgreSQL database `cms_bench_<N>` loaded from a demo exchange file.

A database is reused when its marker table says it was loaded completely from N accounts; the
exchange file (bench/data/demo_<N>.jsonl.gz) is reused when present. Generation, import and export
run as separate processes (`manage.py seed_demo`, `cms_import`, `cms_export`) so their time and
peak memory are theirs alone.
"""

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from .servers import ROOT, django_env

MARKER_TABLE = "bench_dataset"
# Databases are named <prefix>_<N> (demo profile) and <prefix>_<profile>_<N>; BENCH_DB_PREFIX lets several
# people share one PostgreSQL server without sharing data sets.
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "cms_bench")


def dataset_name(scale: int, profile: str = "demo", prefix: str | None = None) -> str:
    prefix = prefix or DB_PREFIX
    return f"{prefix}_{scale}" if profile == "demo" else f"{prefix}_{profile}_{scale}"


def database_url(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def run_measured(command: list[str], env: dict, *, stdout=None) -> dict:
    """Run a command; return its wall time, exit status and peak resident memory (MB)."""
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines = 0
    if stdout == subprocess.PIPE:
        # Counting the records exported, in the harness: the export process pays only for writing them.
        while chunk := process.stdout.read(1 << 20):
            lines += chunk.count(b"\n")
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": time.perf_counter() - began,
        "returncode": process.returncode,
        "peak_rss_mb": usage.ru_maxrss / 1024.0,
        "lines": lines,
        "stderr": stderr.decode(errors="replace")[-2000:],
    }


def manage(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


def count_records(path: Path) -> int:
    with gzip.open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def _admin(base_url: str) -> psycopg.Connection:
    return psycopg.connect(database_url(base_url, "postgres"), autocommit=True)


def read_marker(url: str) -> dict | None:
    """The stored description of a completely loaded data set, or None."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(f"SELECT info FROM {MARKER_TABLE} ORDER BY id DESC LIMIT 1").fetchone()  # noqa: S608
    except psycopg.Error:
        return None
    return row[0] if row else None


def table_counts(url: str) -> dict:
    tables = {
        "customers": "accounts_customer",
        "accounts": "accounts_account",
        "contacts": "contacts_contact",
        "metadata": "metadata_metadata",
        "status_changes": "accounts_statuschange",
        "account_history": "accounts_accounthistory",
        "rcn_changes": "accounts_rcnchange",
    }
    with psycopg.connect(url, autocommit=True) as conn:
        return {
            label: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
            for label, table in tables.items()
        }


def ensure_dataset(
    scale: int,
    base_url: str,
    data_dir: Path,
    log,
    *,
    rebuild: bool = False,
    profile: str = "demo",
    prefix: str | None = None,
) -> dict:
    """Build (or reuse) <prefix>_<scale> (of seed_demo's `profile`); return its description, with generation
    and import figures."""
    name = dataset_name(scale, profile, prefix)
    url = database_url(base_url, name)
    if not rebuild:
        info = read_marker(url)
        if info and info.get("scale") == scale and info.get("profile", "demo") == profile:
            log(f"reusing database {name} ({info['records']} records); applying any new migrations")
            # New index migrations are applied to the loaded data rather than reloading it.
            result = run_measured(manage("migrate", "--noinput", "--skip-checks"), django_env(url))
            if result["returncode"] != 0:
                raise RuntimeError(f"migrate failed: {result['stderr']}")
            info["reused"] = True
            return info

    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"{profile}_{scale}.jsonl.gz"
    env = django_env(url)
    info: dict = {"scale": scale, "profile": profile, "database": name, "file": str(path), "reused": False}
    if path.exists() and not rebuild:
        log(f"reusing exchange file {path}")
        info["generate"] = None
    else:
        log(f"generating {scale} accounts into {path}")
        partial = path.with_suffix(".partial.gz")
        command = manage("seed_demo", "--accounts", str(scale), "--profile", profile, "--output", str(partial))
        result = run_measured(command, env)
        if result["returncode"] != 0:
            raise RuntimeError(f"seed_demo failed: {result['stderr']}")
        partial.rename(path)
        info["generate"] = {"seconds": result["seconds"]}
    info["records"] = count_records(path)
    info["file_mb"] = path.stat().st_size / 1e6

    with _admin(base_url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    log(f"migrating {name}")
    result = run_measured(manage("migrate", "--noinput", "--skip-checks"), env)
    if result["returncode"] != 0:
        raise RuntimeError(f"migrate failed: {result['stderr']}")

    log(f"importing {info['records']} records")
    result = run_measured(manage("cms_import", str(path)), env)
    if result["returncode"] != 0:
        raise RuntimeError(f"cms_import failed: {result['stderr']}")
    info["import"] = {
        "seconds": result["seconds"],
        "records_per_second": info["records"] / result["seconds"],
        "peak_rss_mb": result["peak_rss_mb"],
    }
    with psycopg.connect(url, autocommit=True) as conn:
        # Fresh statistics and visibility map, as autovacuum would leave them on a settled database.
        conn.execute("VACUUM ANALYZE")
    info["counts"] = table_counts(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (id serial PRIMARY KEY, info jsonb NOT NULL, "
            "created timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(f"INSERT INTO {MARKER_TABLE} (info) VALUES (%s)", (json.dumps(info),))  # noqa: S608
    return info


def measure_export(url: str, log) -> dict:
    """Export the whole database to a pipe; records/s and the export process's peak memory."""
    log("exporting")
    result = run_measured(manage("cms_export", "-"), django_env(url), stdout=subprocess.PIPE)
    if result["returncode"] != 0:
        raise RuntimeError(f"cms_export failed: {result['stderr']}")
    return {
        "seconds": result["seconds"],
        "records": result["lines"],
        "records_per_second": result["lines"] / result["seconds"] if result["seconds"] else None,
        "peak_rss_mb": result["peak_rss_mb"],
    }


def measure_profile(scale: int, base_url: str, data_dir: Path, log, *, profile: str, rebuild: bool = False) -> dict:
    """Import (when the data set is built) and export of another profile's data set of `scale` accounts."""
    info = ensure_dataset(scale, base_url, data_dir, log, rebuild=rebuild, profile=profile)
    return {"dataset": info, "export": measure_export(database_url(base_url, info["database"]), log)}
