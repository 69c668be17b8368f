"""The change log's cost at scale: a write with its change record against the same write without, and a page of
the change feed against a page of the account list.

Two measurements, both on a bench data set (PostgreSQL):

- **Writes** (`python -m bench.changes writes`, in a process of its own): three service writes on random
  accounts of the data set, the status change (`account_status_change`, back and forth between Active and
  Suspended, with its status history rows), a metadata PUT (`metadata_set`) and an account rename
  (`account_update`), each timed with its change record and without (the services' change-log calls, the
  snapshots they take for it replaced by nothing: no record, no outbox), in interleaved rounds so that the
  machine's other work falls on both alike. The figure is the median time per write and the ratio
  with/without (target: at most 1.10).
- **Feed pages** (`measure_feed`, through the served API with wrk): the change feed's first page and pages
  from random markers, against the account list's first page and pages from random markers, in interleaved
  rounds (target: a feed page costs what a list page costs: p50 ratio at most 1.10, requests/s at least
  0.90x). The change table is first filled to one change per account (`fill`), as a directory with a
  year of history would have: status changes of every account, written in batches of transactions of
  their own so that the feed's order crosses many transaction ids.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg

from . import concurrent

__all__ = ["WRITE_RATIO_TARGET", "fill", "measure_feed", "measure_writes_in_subprocess", "report_lines", "targets"]

ROOT = Path(__file__).resolve().parent.parent
WRITE_RATIO_TARGET = 1.10
FEED_P50_RATIO_TARGET = 1.10
FEED_RPS_RATIO_TARGET = 0.90
FILL_BATCH = 20_000
USERNAME = "bench_changes"


def fill(url: str, log, per_account: float = 1.0) -> dict:
    """Top the change table up to `per_account` changes per account (status changes); return its size."""
    with psycopg.connect(url, autocommit=True) as conn:
        accounts = conn.execute("SELECT count(*) FROM accounts_account").fetchone()[0]
        wanted = int(accounts * per_account)
        present = conn.execute("SELECT count(*) FROM changes_change").fetchone()[0]
        if present >= wanted:
            return {"changes": present, "added": 0, "seconds": 0.0}
        log(f"filling the change log: {present:,} -> {wanted:,} changes")
        started = time.perf_counter()
        low, high = conn.execute("SELECT min(id), max(id) FROM accounts_account").fetchone()
        added, start = 0, low
        while added < wanted - present and start <= high:
            # One transaction per batch (autocommit): the feed's order then crosses many transaction ids.
            cursor = conn.execute(
                """
                INSERT INTO changes_change (time, request_id, actor_username, actor_type, object_type, object_key,
                                            action, rcn, account_key, namespace, before, after)
                SELECT now() - (random() * interval '365 days'), gen_random_uuid(), 'bench', 'RACKER', 'account',
                       a.type || '/' || a.account_id, 'update', c.rcn, a.type || '/' || a.account_id, NULL,
                       jsonb_build_object('status', 'Active'), jsonb_build_object('status', 'Suspended')
                FROM accounts_account a JOIN accounts_customer c ON c.id = a.customer_id
                WHERE a.id >= %s AND a.id < %s
                ORDER BY a.id
                LIMIT %s
                """,
                (start, start + FILL_BATCH, wanted - present - added),
            )
            added += cursor.rowcount
            start += FILL_BATCH
        conn.execute("VACUUM ANALYZE changes_change")
        return {"changes": present + added, "added": added, "seconds": time.perf_counter() - started}


def _feed_paths(url: str, size: int = 500, seed: int = 17) -> dict[str, list[str]]:
    """Random markers of the feed and of the account list, drawn with a fixed seed."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT setseed(%s)", (seed / 100,))
        changes = [row[0] for row in conn.execute("SELECT id FROM changes_change ORDER BY random() LIMIT %s", (size,))]
        accounts = conn.execute(
            "SELECT type, account_id FROM accounts_account ORDER BY random() LIMIT %s", (size,)
        ).fetchall()
    random.Random(seed).shuffle(changes)
    return {
        "list_first_page": ["/v1/customer_accounts?limit=50"],
        "feed_first_page": ["/v1/changes?limit=50"],
        "list_by_marker": [
            f"/v1/customer_accounts?{urlencode({'marker': f'{t}:{i}', 'limit': 50})}" for t, i in accounts
        ],
        "feed_by_marker": [f"/v1/changes?marker={quote(str(ident))}&limit=50" for ident in changes],
    }


PAIRS = (("first page", "list_first_page", "feed_first_page"), ("by marker", "list_by_marker", "feed_by_marker"))


def measure_feed(api, headers: dict, url: str, args, log) -> dict:
    """wrk rounds, interleaved: the account list's page, then the feed's, for the first page and by marker."""
    paths = _feed_paths(url)
    results: dict = {"connections": args.wrk_connections, "seconds": args.wrk_seconds, "rounds": args.wrk_rounds}
    results["pairs"] = {}
    for label, list_name, feed_name in PAIRS:
        runs = {"list": [], "feed": []}
        for round_ in range(args.wrk_rounds):
            for side, name in (("list", list_name), ("feed", feed_name)):
                runs[side].append(
                    concurrent.run_wrk(
                        api.port,
                        paths[name],
                        headers,
                        seconds=args.wrk_seconds,
                        connections=args.wrk_connections,
                        seed=round_ + 1,
                    )
                )
        summary = concurrent.summarize(runs, base="list", measured="feed")
        results["pairs"][label] = {"runs": runs, **summary}
        log(
            f"  change feed {label}: p50 {summary['feed']['p50']:.2f} ms vs list {summary['list']['p50']:.2f} ms, "
            f"{summary['feed']['rps']:.0f} vs {summary['list']['rps']:.0f} req/s"
        )
    return results


def measure_writes_in_subprocess(database_url: str, writes: int, rounds: int) -> dict:
    """`python -m bench.changes writes` on `database_url`, in a process of its own."""
    from .cpu import IN_PROCESS_HOSTS
    from .servers import run_json_module

    arguments = ["writes", "--writes", str(writes), "--rounds", str(rounds)]
    # The API's writes are requests to the WSGI handler in that process.
    return run_json_module("bench.changes", arguments, database_url, DJANGO_ALLOWED_HOSTS=IN_PROCESS_HOSTS)


def _measure_writes(writes: int, rounds: int, sample: int = 2000) -> dict:
    """In this process (Django set up): each write's median time with and without its change record."""
    from contextlib import ExitStack
    from unittest import mock

    from accounts import services as accounts
    from accounts.choices import AccountStatus
    from accounts.models import Account
    from cmsportal.identity.access import Actor
    from metadata import services as metadata

    actor = Actor(USERNAME, "RACKER")
    ids = list(Account.objects.order_by("?").values_list("id", flat=True)[:sample])
    rng = random.Random(5)
    counter = 0

    def account():
        return Account.objects.select_related("customer").get(id=rng.choice(ids))

    def status(target):
        current = target.status
        new = AccountStatus.SUSPENDED if current == AccountStatus.ACTIVE else AccountStatus.ACTIVE
        accounts.account_status_change(account=target, actor=actor, status=new)

    def metadata_put(target):
        metadata.metadata_set(account=target, key="bench:changes", value=f"value {counter}", actor=actor)

    def rename(target):
        accounts.account_update(account=target, actor=actor, name=f"Bench account {counter}")

    from django.core.handlers.wsgi import WSGIHandler

    from . import cpu

    handler, token = WSGIHandler(), cpu.bench_token()

    def api_metadata_put(target):
        # The same write as a client makes it: PUT through the WSGI handler (authentication, the view, the service).
        path = f"/v1/customer_accounts/{target.type}/{quote(target.account_id, safe='')}/metadata/bench:changes"
        body = json.dumps({"meta": {"bench:changes": f"value {counter}"}}).encode()
        status, _ = cpu.call(handler, path, token, method="PUT", body=body, content_type="application/json")
        if not status.startswith("204"):
            raise RuntimeError(f"PUT {path} answered {status}")

    operations = {
        "status change": status,
        "metadata PUT": metadata_put,
        "account rename": rename,
        "metadata PUT through the API": api_metadata_put,
    }

    def without_change_log() -> ExitStack:
        """The same services with their change-log work taken out: no snapshot, no record, no outbox."""
        stack = ExitStack()
        for module, name in (
            (accounts, "_log_account"),
            (accounts, "snapshot"),
            (metadata, "_log_entry"),
            (metadata, "snapshot"),
        ):
            stack.enter_context(mock.patch.object(module, name, lambda *args, **kwargs: {}))
        return stack

    def run(operation) -> list[float]:
        nonlocal counter
        spent = []
        for _ in range(writes):
            counter += 1
            target = account()  # the read that finds the account is not part of the write
            started = time.perf_counter()
            operation(target)
            spent.append(time.perf_counter() - started)
        return spent

    times = {name: {"with": [], "without": []} for name in operations}
    for operation in operations.values():  # warm up: connections, caches, statement plans
        run(operation)
    for round_ in range(rounds):
        for name, operation in operations.items():
            # Alternate which side goes first, so that a drift within a round falls on both alike.
            order = ("with", "without") if round_ % 2 == 0 else ("without", "with")
            for side in order:
                if side == "without":
                    with without_change_log():
                        times[name][side] += run(operation)
                else:
                    times[name][side] += run(operation)
    results = {"writes_per_side": writes * rounds, "rounds": rounds, "operations": {}}
    for name, sides in times.items():
        with_ms, without_ms = (statistics.median(sides[side]) * 1000 for side in ("with", "without"))
        with_mean, without_mean = (statistics.fmean(sides[side]) * 1000 for side in ("with", "without"))
        results["operations"][name] = {
            "with_ms": round(with_ms, 3),
            "without_ms": round(without_ms, 3),
            "ratio": round(with_ms / without_ms, 3),
            "with_mean_ms": round(with_mean, 3),
            "without_mean_ms": round(without_mean, 3),
            "mean_ratio": round(with_mean / without_mean, 3),
        }
    return results


def targets(changes: dict | None) -> list[tuple[str, str, str, bool | None]]:
    rows = []
    if not changes:
        return rows
    for name, row in (changes.get("writes") or {}).get("operations", {}).items():
        rows.append(
            (
                f"Write with its change record: {name}",
                f"≤ {WRITE_RATIO_TARGET:.2f}x the write without",
                f"{row['ratio']:.3f}x ({row['with_ms']:.2f} vs {row['without_ms']:.2f} ms)",
                row["ratio"] <= WRITE_RATIO_TARGET,
            )
        )
    for label, pair in (changes.get("feed") or {}).get("pairs", {}).items():
        met = pair["p50_ratio"] <= FEED_P50_RATIO_TARGET and pair["rps_ratio"] >= FEED_RPS_RATIO_TARGET
        rows.append(
            (
                f"Change feed page vs account list page, {label}",
                f"p50 ≤ {FEED_P50_RATIO_TARGET:.2f}x, req/s ≥ {FEED_RPS_RATIO_TARGET:.2f}x",
                f"p50 {pair['p50_ratio']:.2f}x, req/s {pair['rps_ratio']:.2f}x",
                met,
            )
        )
    return rows


def report_lines(changes: dict | None) -> list[str]:
    """The Markdown section of the report for the change log's cost."""
    if not changes:
        return []
    lines = ["## Change log: writes and feed pages", ""]
    table = changes.get("table") or {}
    if table:
        size, added = table.get("changes", 0), table.get("added", 0)
        lines += [f"Change table: {size:,} changes ({added:,} added by this run).", ""]
    writes = changes.get("writes")
    if writes:
        lines += [
            f"Service writes on random accounts, {writes['writes_per_side']} per side in {writes['rounds']} "
            "interleaved rounds; median time per write with its change record and without (the change-log "
            "calls and their snapshots taken out: no record, no outbox), and the means beside them (a write's "
            "time is two-humped when its commit waits for the disk, so the median alone can jump between humps).",
            "",
            "| write | with record | without | ratio | mean with | mean without | mean ratio |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, row in writes["operations"].items():
            means = (
                f"{row['with_mean_ms']:.2f} ms | {row['without_mean_ms']:.2f} ms | {row['mean_ratio']:.3f}"
                if "mean_ratio" in row
                else " | | "
            )
            lines.append(
                f"| {name} | {row['with_ms']:.2f} ms | {row['without_ms']:.2f} ms | {row['ratio']:.3f} | {means} |"
            )
        lines.append("")
    feed = changes.get("feed")
    if feed:
        lines += [
            f"`wrk -t2 -c{feed['connections']}`, {feed['seconds']:g} s per run, {feed['rounds']} interleaved rounds "
            "(list, feed, list, ...), medians, JSON, 50 rows a page.",
            "",
            "| page | list p50 | feed p50 | p50 ratio | list req/s | feed req/s | req/s ratio | errors |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for label, pair in feed["pairs"].items():
            lines.append(
                f"| {label} | {pair['list']['p50']:.2f} ms | {pair['feed']['p50']:.2f} ms | {pair['p50_ratio']:.2f} | "
                f"{pair['list']['rps']:,.0f} | {pair['feed']['rps']:,.0f} | {pair['rps_ratio']:.2f} | "
                f"{pair['list']['errors'] + pair['feed']['errors']} |"
            )
        lines.append("")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.changes", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    writes = sub.add_parser("writes", help="time service writes with and without their change record")
    writes.add_argument("--writes", type=int, default=20, help="writes per side, operation and round")
    writes.add_argument("--rounds", type=int, default=20, help="interleaved rounds")
    writes.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmsportal.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    import django

    django.setup()
    results = _measure_writes(args.writes, args.rounds)
    for name, row in results["operations"].items():
        with_ms, without_ms = row["with_ms"], row["without_ms"]
        print(
            f"{name:<16} median: with {with_ms:7.2f} ms  without {without_ms:7.2f} ms  ratio {row['ratio']:.3f}   "
            f"mean: with {row['with_mean_ms']:7.2f} ms  without {row['without_mean_ms']:7.2f} ms  "
            f"ratio {row['mean_ratio']:.3f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
