"""Per-request CPU of the hot API reads, in process: `python -m bench.cpu [--requests N] [--rounds R]`.

Runs N requests per path through Django's WSGI handler (the whole middleware stack, authentication by
X-Auth-Token, negotiation, rendering: everything but the HTTP server) against the database of
DATABASE_URL, and reports the CPU time of this process per request (`time.process_time`: the wait on
the database is not in it) as the minimum and the median over R rounds. CPU time of one process, taken
as the best of several rounds, is far less sensitive to other work on the machine than wall-clock
latency under load, so before/after comparisons of the framework's overhead hold on a shared machine.

`--profile DIR` also writes a cProfile of each path (`DIR/<path>.prof`, and the 25 most expensive
functions by cumulative time in `DIR/<path>.txt`). `--json FILE` writes the figures.

The database needs data (`manage.py seed_demo`, or a bench data set); a staff user `bench_cpu` with the
global view permission is created (or reused) and given a token.
"""

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The hot reads of the API: (name, path template). {t}/{i} is an account with contacts, metadata and a status
# history; {rpn} one of its contacts.
HOT_PATHS = (
    ("account_get", "/v1/customer_accounts/{t}/{i}"),
    ("list_first_page", "/v1/customer_accounts?limit=50"),
    ("list_by_marker", "/v1/customer_accounts?limit=50&marker={t}:{i}"),
    ("contacts", "/v1/customer_accounts/{t}/{i}/contacts"),
    ("metadata", "/v1/customer_accounts/{t}/{i}/metadata"),
    ("contact", "/v1/customer_accounts/{t}/{i}/contacts/{rpn}"),
    ("status_history", "/v1/customer_accounts/{t}/{i}/status_history"),
)
USERNAME = "bench_cpu"


# The hosts of a process that calls the WSGI handler itself (its requests name `testserver`).
IN_PROCESS_HOSTS = "127.0.0.1,localhost,testserver"


def _setup():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmsportal.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", IN_PROCESS_HOSTS)
    import django

    django.setup()


def bench_token() -> str:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from cmsportal.identity import services

    user, _ = get_user_model().objects.get_or_create(username=USERNAME, defaults={"is_staff": True})
    user.user_permissions.add(Permission.objects.get(codename="view_all_accounts"))
    _, plaintext = services.token_issue(user, ["password"])
    return plaintext


def _sample() -> dict:
    """An account with the most contacts among those with metadata and a status history, and one contact of it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.type, a.account_id, min(c.contact_number) FROM accounts_account a "
            "JOIN contacts_accountcontact l ON l.account_id = a.id JOIN contacts_contact c ON c.id = l.contact_id "
            "WHERE EXISTS (SELECT 1 FROM metadata_metadata m WHERE m.account_id = a.id) "
            "AND EXISTS (SELECT 1 FROM accounts_statuschange s WHERE s.account_id = a.id) "
            "GROUP BY a.id, a.type, a.account_id ORDER BY count(*) DESC, a.type, a.account_id LIMIT 1"
        )
        row = cursor.fetchone()
    if row is None:
        raise SystemExit("No account with contacts, metadata and a status history: load data first (seed_demo).")
    return {"t": row[0], "i": row[1], "rpn": row[2]}


def _environ(path: str, token: str, method: str = "GET", body: bytes = b"", content_type: str = "") -> dict:
    path_info, _, query = path.partition("?")
    extra = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body))} if body else {}
    return {
        **extra,
        "REQUEST_METHOD": method,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
        "HTTP_ACCEPT": "application/json",
        "HTTP_X_AUTH_TOKEN": token,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def call(handler, path: str, token: str, **request) -> tuple[str, bytes]:
    """One request through `handler` (`request`: method, body and content_type of a write)."""
    status = []
    response = handler(_environ(path, token, **request), lambda s, h, exc_info=None: status.append(s))
    try:
        body = b"".join(response)
    finally:
        close = getattr(response, "close", None)
        if close:
            close()
    return status[0], body


def measure(requests: int, rounds: int, profile_dir: Path | None = None, only=None) -> dict:
    """CPU ms per request (min and median over rounds) and queries per request, for each hot path."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    handler = WSGIHandler()
    token = bench_token()
    sample = _sample()
    results = {"sample": sample, "requests": requests, "rounds": rounds, "paths": {}}
    for name, template in HOT_PATHS:
        if only and name not in only:
            continue
        path = template.format(**sample)
        status, body = call(handler, path, token)
        if not status.startswith("200"):
            raise SystemExit(f"{path}: {status} {body[:300]!r}")
        queries = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            call(handler, path, token)
        for _ in range(min(50, requests)):  # warm caches (compiled queries, URL resolver, statements)
            call(handler, path, token)
        per_round = []
        for _ in range(rounds):
            began = time.process_time()
            for _ in range(requests):
                call(handler, path, token)
            per_round.append((time.process_time() - began) * 1000 / requests)
        results["paths"][name] = {
            "path": path,
            "cpu_ms_min": min(per_round),
            "cpu_ms_median": statistics.median(per_round),
            "queries": len(queries),
            "bytes": len(body),
        }
        if profile_dir is not None:
            import cProfile
            import pstats

            profile_dir.mkdir(parents=True, exist_ok=True)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(requests):
                call(handler, path, token)
            profiler.disable()
            profiler.dump_stats(str(profile_dir / f"{name}.prof"))
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
            (profile_dir / f"{name}.txt").write_text(text.getvalue())
    return results


def measure_in_subprocess(database_url: str, requests: int, rounds: int = 5) -> dict:
    """`python -m bench.cpu` on `database_url` in a process of its own (the benchmark's environment)."""
    from .servers import run_json_module

    arguments = ["--requests", str(requests), "--rounds", str(rounds)]
    return run_json_module("bench.cpu", arguments, database_url, DJANGO_ALLOWED_HOSTS=IN_PROCESS_HOSTS)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per round and path")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per path (min and median reported)")
    parser.add_argument("--only", help="comma-separated path names (default: all)")
    parser.add_argument("--profile", metavar="DIR", help="write a cProfile of each path into DIR")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = parser.parse_args(argv)
    _setup()
    only = set(args.only.split(",")) if args.only else None
    results = measure(args.requests, args.rounds, Path(args.profile) if args.profile else None, only)
    print(f"{'path':<18} {'CPU ms min':>10} {'median':>8} {'queries':>8} {'bytes':>7}")
    for name, row in results["paths"].items():
        print(
            f"{name:<18} {row['cpu_ms_min']:>10.3f} {row['cpu_ms_median']:>8.3f} {row['queries']:>8} {row['bytes']:>7}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
