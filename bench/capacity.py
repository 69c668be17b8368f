"""`python -m bench.capacity --url postgres://.../cms_bench_100000`: what one request costs, in-process.

For each operation (account GET, list page, staff search, a status change, a metadata PUT), N requests
through Django's test client against a loaded data set (bench/dataset.py), after a warm-up:

- app CPU ms: `time.process_time()` around the request (this process's own CPU: Django, DRF, the
  renderers, psycopg's client side; no HTTP server, whose share gunicorn adds on top);
- database ms: the wall time of every statement, from `connection.execute_wrapper` (the server's
  execution plus the loopback round trip), and how many statements;
- the wall time of the whole request.

Medians and p95 over the N requests. The status changes and metadata PUTs write to the data set (each
account's status goes back and forth; keys `support:capacity*`), and what each writes to the history tables
is measured too: rows and bytes per change (table + indexes, from the loaded data set's own sizes).
Results: <out>/capacity.json and capacity.md (docs/SCALING.md quotes them).
"""

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["main", "measure"]


class StatementTimer:
    """execute_wrapper: the wall time and count of every statement run by the connection."""

    def __init__(self):
        self.seconds, self.count = 0.0, 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "p95": ordered[max(0, int(0.95 * len(ordered)) - 1)],
        "mean": statistics.fmean(ordered),
    }


def measure(n: int, seed: int = 11) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from accounts.models import Account
    from cmsportal.identity import services as identity

    rng = random.Random(seed)
    staff, _ = get_user_model().objects.get_or_create(
        username="capacity_staff", defaults={"is_staff": True, "is_superuser": True}
    )
    token = identity.token_issue(staff, [identity.PASSWORD])[1]
    api = Client(HTTP_X_AUTH_TOKEN=token, HTTP_ACCEPT="application/json")
    pages = Client()
    pages.force_login(staff)

    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.17)")
        cursor.execute("SELECT type, account_id FROM accounts_account ORDER BY random() LIMIT %s", [4 * n + 200])
        accounts = cursor.fetchall()
        cursor.execute(
            "SELECT name FROM accounts_customer WHERE length(name) >= 6 ORDER BY random() LIMIT %s", [n + 50]
        )
        names = [row[0] for row in cursor.fetchall()]
    fragments = []
    for name in names:
        start = rng.randrange(0, len(name) - 5)
        fragments.append(name[start : start + 5].strip() or name[:5])

    writable = iter(accounts[2 * n + 100 :])

    def account_get(i):
        t, a = accounts[i]
        return api.get(f"/v1/customer_accounts/{t}/{a}"), (200,)

    def list_page(i):
        t, a = accounts[n + 50 + i]
        return api.get("/v1/customer_accounts", {"limit": 50, "marker": f"{t}:{a}"}), (200,)

    def search(i):
        return pages.get("/search/", {"q": fragments[i % len(fragments)]}), (200, 302)

    def metadata_put(i):
        t, a = accounts[i]
        key = f"support:capacity{i % 7}"
        body = json.dumps({"meta": {key: f"value {i} {rng.random():.6f}"}})
        return api.put(f"/v1/customer_accounts/{t}/{a}/metadata/{key}", body, content_type="application/json"), (
            204,
            201,
            200,
        )

    status_forms = {}

    def prepare_status(i):
        """Not timed: the form and its confirmation page, whose hidden fields the timed POST sends back."""
        t, a = next(writable)
        account = Account.objects.get(type=t, account_id=a)
        target = "Suspended" if account.status != "Suspended" else "Active"
        path = f"/accounts/{t}/{a}/status/"
        page = pages.get(path).content
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.decode()))
        fields.update(status=target, reason="capacity measurement")
        page = pages.post(path, fields).content
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.decode()))
        fields.update(status=target, reason="capacity measurement", confirm="yes")
        status_forms[i] = (path, fields)

    def status_change(i):
        path, fields = status_forms.pop(i)
        return pages.post(path, fields), (302,)

    operations = {
        "account GET": (account_get, None),
        "list page (50, by marker)": (list_page, None),
        "staff search (name fragment)": (search, None),
        "status change (confirmed POST)": (status_change, prepare_status),
        "metadata PUT": (metadata_put, None),
    }
    history_tables = ("accounts_statuschange", "accounts_accounthistory", "metadata_metadata")
    results: dict = {"n": n, "operations": {}, "history": {}}
    for label, (send, prepare) in operations.items():
        cpu, db, wall, statements = [], [], [], []
        failures = 0
        rows_before = _counts(history_tables)
        backend = connection.connection.info.backend_pid  # persistent: the same backend serves every request
        backend_cpu = 0.0
        for i in range(n + 20):
            if i == 20:
                backend_cpu = process_cpu_seconds([backend])
            if prepare:
                prepare(i)
            timer = StatementTimer()
            with connection.execute_wrapper(timer):
                started_cpu, started = time.process_time(), time.perf_counter()
                response, expect = send(i)
                spent_cpu, spent = time.process_time() - started_cpu, time.perf_counter() - started
            if response.status_code not in expect:
                failures += 1
            if i >= 20:  # warm-up
                cpu.append(spent_cpu * 1000)
                wall.append(spent * 1000)
                db.append(timer.seconds * 1000)
                statements.append(timer.count)
        backend_cpu = process_cpu_seconds([backend]) - backend_cpu
        assert connection.connection.info.backend_pid == backend, "the connection changed: its CPU is lost"
        rows_after = _counts(history_tables)
        results["operations"][label] = {
            "postgres_cpu_ms": backend_cpu * 1000 / n,
            "app_cpu_ms": _summary(cpu),
            "db_ms": _summary(db),
            "wall_ms": _summary(wall),
            "statements": statistics.median(statements),
            "failures": failures,
            "history_rows_per_request": {
                table: (rows_after[table] - rows_before[table]) / (n + 20) for table in history_tables
            },
        }
    for table in history_tables:
        results["history"][table] = _table_size(table)
    return results


def _counts(tables) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        out = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            out[table] = cursor.fetchone()[0]
        return out


def _table_size(table: str) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_table_size(%s::regclass), pg_indexes_size(%s::regclass), "
            "(SELECT reltuples FROM pg_class WHERE oid = %s::regclass)",
            [table, table, table],
        )
        table_bytes, index_bytes, rows = cursor.fetchone()
    return {
        "rows": int(rows),
        "table_bytes": table_bytes,
        "index_bytes": index_bytes,
        "bytes_per_row": (table_bytes + index_bytes) / rows if rows > 0 else None,
    }


def process_cpu_seconds(pids) -> float:
    """user + system CPU seconds of the given processes, from /proc (0 for one that has gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / tick


def group_pids(pgid: int) -> list[int]:
    """The processes of a process group (gunicorn's master and workers: started in a session of their own)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:  # pgrp, field 5 of stat
                pids.append(int(entry.name))
    return pids


def measure_served(url: str, n: int, out: Path) -> dict:
    """CPU per request of gunicorn (1 worker x 2 threads, gunicorn.conf.py) and of its PostgreSQL backends, from
    /proc, over `n` requests per operation at concurrency 2: the whole cost of a request, HTTP included."""
    import psycopg

    from .__main__ import Samples, api_token, bench_user, probe
    from .loadgen import run_load
    from .servers import Server

    user = bench_user(url)
    samples = Samples(url)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results = {}
    with (
        Server(
            "cmsportal.wsgi:application",
            url,
            logs / "capacity_gunicorn.log",
            GUNICORN_WORKERS="1",
            GUNICORN_THREADS="2",
        ) as server,
        psycopg.connect(url, autocommit=True) as admin,
    ):
        token = api_token(server.port, user["password"])
        if not token or probe(server.port, "/search/?q=x", {"Cookie": f"sessionid={user['session']}"}) != 200:
            raise RuntimeError("no token, or the staff session is not signed in")
        api = {"X-Auth-Token": token, "Accept": "application/json"}
        session = {"Cookie": f"sessionid={user['session']}"}
        gets = [f"/v1/customer_accounts/{t}/{quote(i, safe='')}" for t, i in samples.accounts]
        pages = ["/v1/customer_accounts?" + urlencode({"limit": 50, "marker": f"{t}:{i}"}) for t, i in samples.accounts]
        searches = ["/search/?" + urlencode({"q": q}) for q in samples.name_fragments]
        for label, paths, headers, expect in (
            ("account GET", gets, api, (200,)),
            ("list page (50, by marker)", pages, api, (200,)),
            ("staff search (name fragment)", searches, session, (200, 302)),
        ):
            run_load(server.port, paths, requests=50, concurrency=2, headers=headers, expect=expect)  # warm-up

            def backends():
                rows = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchall()
                return [row[0] for row in rows]

            app_before, db_pids = process_cpu_seconds(group_pids(server.process.pid)), backends()
            db_before = process_cpu_seconds(db_pids)
            result = run_load(server.port, paths, requests=n, concurrency=2, headers=headers, expect=expect)
            app_after, db_after = process_cpu_seconds(group_pids(server.process.pid)), process_cpu_seconds(db_pids)
            results[label] = {
                "requests": result.requests,
                "errors": result.errors,
                "gunicorn_cpu_ms": (app_after - app_before) * 1000 / result.requests,
                "postgres_cpu_ms": (db_after - db_before) * 1000 / result.requests,
                "p50_ms": result.p50,
                "rps": result.rps,
            }
    return results


def write_markdown(results: dict, path: Path) -> None:
    lines = [
        f"# Per-request cost, in-process ({results['n']} requests each, medians; p95 in brackets)",
        "",
        "| operation | app CPU ms | database ms | PostgreSQL backend CPU ms (mean) | statements | wall ms | failures |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, r in results["operations"].items():
        lines.append(
            f"| {label} | {r['app_cpu_ms']['median']:.2f} ({r['app_cpu_ms']['p95']:.2f}) "
            f"| {r['db_ms']['median']:.2f} ({r['db_ms']['p95']:.2f}) | {r['postgres_cpu_ms']:.2f} "
            f"| {r['statements']:g} "
            f"| {r['wall_ms']['median']:.2f} | {r['failures']} |"
        )
    lines += ["", "| history table | rows | bytes per row (table + indexes) |", "|---|---|---|"]
    for table, h in results["history"].items():
        per_row = f"{h['bytes_per_row']:.0f}" if h["bytes_per_row"] else "n/a"
        lines.append(f"| {table} | {h['rows']:,} | {per_row} |")
    lines += ["", "History rows written per request:", ""]
    for label, r in results["operations"].items():
        written = {t: round(v, 2) for t, v in r["history_rows_per_request"].items() if v}
        if written:
            lines.append(f"- {label}: {written}")
    if results.get("served"):
        lines += [
            "",
            "Served by gunicorn (1 worker x 2 threads), CPU per request from /proc (ticks of 10 ms: the figure is an "
            "average over all the requests):",
            "",
            "| operation | requests | gunicorn CPU ms | PostgreSQL backends CPU ms | p50 ms | req/s | errors |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, r in results["served"].items():
            lines.append(
                f"| {label} | {r['requests']} | {r['gunicorn_cpu_ms']:.2f} | {r['postgres_cpu_ms']:.2f} "
                f"| {r['p50_ms']:.2f} | {r['rps']:.0f} | {r['errors']} |"
            )
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    parser.add_argument("--url", required=True, help="PostgreSQL database of a loaded data set (bench/dataset.py)")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per operation")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"), help="folder for capacity.json and .md")
    parser.add_argument(
        "--served", type=int, default=2000, help="requests per read through gunicorn, CPU from /proc (0: skip)"
    )
    args = parser.parse_args(argv)
    os.environ.update(
        DATABASE_URL=args.url,
        DJANGO_SETTINGS_MODULE="cmsportal.settings",
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_CONN_MAX_AGE="3600",  # one backend throughout: its CPU is read from /proc
    )
    os.environ.pop("DATABASE_REPLICA_URLS", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    results = measure(args.requests)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.served:
        results["served"] = measure_served(args.url, args.served, out)
    (out / "capacity.json").write_text(json.dumps(results, indent=1))
    write_markdown(results, out / "capacity.md")
    print((out / "capacity.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
