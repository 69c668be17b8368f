"""`python -m bench.outbox`: what the webhook outbox adds to a write with its change record, on PostgreSQL.

One service write (`accounts.services.account_update`: lock, snapshot, save, change record, each in its own
transaction) is timed in four set-ups, interleaved round by round so that the machine's other work falls on
all of them alike:

- `without outbox`: the change record only (`cmsportal.changes.outbox.insert_with_deliveries` without its deliveries);
- `no subscription`: the outbox's INSERT ... SELECT, which finds no subscription;
- `3 not matching`: three enabled subscriptions whose filters leave the change out;
- `1 matching`: one subscription that takes it (a delivery row per write).

The figure is the median time per write and its ratio to `without outbox` (the target: at most 1.10 with no
subscription). A fresh database (`--database`, default cms_bench_outbox) is made on the server of `--pg-url`
and dropped after.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent


def _admin(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outbox", description=__doc__)
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres", help="PostgreSQL server")
    parser.add_argument("--writes", type=int, default=30, help="writes per set-up and round")
    parser.add_argument("--rounds", type=int, default=60, help="rounds (each runs every set-up once, in turn)")
    parser.add_argument("--database", default="cms_bench_outbox", help="the scratch database's name")
    parser.add_argument("--out", help="also write the results here, as JSON")
    args = parser.parse_args(argv)

    base = args.pg_url.rsplit("/", 1)[0]
    _admin(args.pg_url, f'DROP DATABASE IF EXISTS "{args.database}"')
    _admin(args.pg_url, f'CREATE DATABASE "{args.database}"')
    os.environ.update({"DATABASE_URL": f"{base}/{args.database}", "DJANGO_DEBUG": "0", "DJANGO_LOG_LEVEL": "WARNING"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmsportal.settings")
    sys.path.insert(0, str(ROOT))
    try:
        results = _measure(args)
    finally:
        from django.db import connections

        connections.close_all()
        _admin(args.pg_url, f'DROP DATABASE IF EXISTS "{args.database}"')
    print(json.dumps(results, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


def _measure(args) -> dict:
    import django

    django.setup()
    from unittest import mock

    from django.core.management import call_command

    from accounts import services as accounts
    from cmsportal.changes import outbox
    from cmsportal.changes.models import Subscription
    from cmsportal.identity.access import Actor

    call_command("migrate", verbosity=0)
    actor = Actor("bench", "RACKER")
    customer = accounts.customer_create(rcn="RCN-900-000-001", name="Bench", actor=actor)
    account = accounts.account_create(actor=actor, customer=customer, type="CLOUD", account_id="900001")
    for number in range(3):
        outbox.subscription_create(
            name=f"other-{number}", url="https://hooks.example.com/", object_types=["contact"], enabled=False
        )
    outbox.subscription_create(
        name="accounts", url="https://hooks.example.com/", object_types=["account"], enabled=False
    )

    def only(*names):
        Subscription.objects.update(enabled=False)
        Subscription.objects.filter(name__in=names).update(enabled=True)

    with_deliveries = outbox.insert_with_deliveries

    def change_only(change, using, deliveries=True):
        with_deliveries(change, using, deliveries=False)

    setups = {
        "without outbox": (lambda: only(), True),
        "no subscription": (lambda: only(), False),
        "3 not matching": (lambda: only("other-0", "other-1", "other-2"), False),
        "1 matching": (lambda: only("accounts"), False),
    }
    times: dict[str, list[float]] = {name: [] for name in setups}
    counter = 0

    def run(writes: int) -> list[float]:
        nonlocal counter
        spent = []
        for _ in range(writes):
            counter += 1
            started = time.perf_counter()
            accounts.account_update(account=account, actor=actor, name=f"Bench {counter}")
            spent.append(time.perf_counter() - started)
        return spent

    run(args.writes)  # warm up: connections, caches, statement plans
    for _ in range(args.rounds):
        for name, (prepare, skip_outbox) in setups.items():
            prepare()
            if skip_outbox:
                with mock.patch.object(outbox, "insert_with_deliveries", change_only):
                    times[name] += run(args.writes)
            else:
                times[name] += run(args.writes)
    baseline = statistics.median(times["without outbox"])
    return {
        "writes_per_setup": args.writes * args.rounds,
        "median_ms": {name: round(statistics.median(spent) * 1000, 3) for name, spent in times.items()},
        "ratio": {name: round(statistics.median(spent) / baseline, 3) for name, spent in times.items()},
    }


if __name__ == "__main__":
    sys.exit(main())
