"""`python -m bench --scale N --out DIR`: build or reuse the data set, serve, measure, write the report.

Every figure in the report is measured in this run (or read back from an earlier run's results in
the out folder, for the data-size chart); nothing is assumed. See bench/README.md.
"""

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg

from . import changes, concurrent, cpu, dataset
from .loadgen import run_load
from .report import write_report
from .servers import ROOT, Server, django_env

BENCH_USER = "bench_staff"

USER_SCRIPT = """
import json, secrets
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.conf import settings
from django.contrib.auth.models import Permission
from importlib import import_module
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
password = secrets.token_urlsafe(16)
user, _ = get_user_model().objects.get_or_create(username=%(username)r)
user.is_staff = True
user.set_password(password)
user.save()
user.user_permissions.add(Permission.objects.get(codename="view_all_accounts"))
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]  # a session of another is signed out
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(json.dumps({"password": password, "session": session.session_key}))
"""


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def bench_user(url: str) -> dict:
    """A staff user with the global view permission, a password and a signed-in session."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", USER_SCRIPT % {"username": BENCH_USER}],
        cwd=ROOT,
        env=django_env(url),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def api_token(port: int, password: str) -> str | None:
    body = json.dumps({"auth": {"passwordCredentials": {"username": BENCH_USER, "password": password}}})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/v2.0/tokens", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            return None
        return json.loads(data)["access"]["token"]["id"]
    except (OSError, ValueError, KeyError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def probe(port: int, path: str, headers: dict) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


def fetch_json(port: int, path: str, headers: dict):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={**headers, "Accept": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


class Samples:
    """Real identifiers and fragments drawn from the data set, with a fixed seed."""

    def __init__(self, url: str, seed: int = 7, size: int = 2000):
        rng = random.Random(seed)
        with psycopg.connect(url, autocommit=True) as conn:
            self.total = conn.execute("SELECT count(*) FROM accounts_account").fetchone()[0]
            conn.execute("SELECT setseed(0.42)")
            self.accounts = conn.execute(
                "SELECT type, account_id FROM accounts_account ORDER BY random() LIMIT %s", (size,)
            ).fetchall()
            self.domains = [
                r[0]
                for r in conn.execute(
                    "SELECT domain FROM accounts_account WHERE domain IS NOT NULL ORDER BY random() LIMIT 20"
                )
            ]
            readable = (
                "SELECT m.key, m.value FROM metadata_metadata m LEFT JOIN metadata_namespace n "
                "ON n.name = m.namespace WHERE (n.access IS NULL OR n.access <> 'READ_RESTRICTED') "
                "AND length(m.value) < 200 ORDER BY random() LIMIT 20"
            )
            self.metadata = conn.execute(readable).fetchall()
            self.rcns = [r[0] for r in conn.execute("SELECT rcn FROM accounts_customer ORDER BY random() LIMIT 50")]
            self.rpns = [
                r[0] for r in conn.execute("SELECT contact_number FROM contacts_contact ORDER BY random() LIMIT 50")
            ]
            self.emails = [
                r[0] for r in conn.execute("SELECT address FROM contacts_emailaddress ORDER BY random() LIMIT 50")
            ]
            names = [
                r[0]
                for r in conn.execute(
                    "(SELECT name FROM accounts_customer WHERE name IS NOT NULL ORDER BY random() LIMIT 25) UNION ALL "
                    "(SELECT last_name FROM contacts_contact WHERE last_name IS NOT NULL ORDER BY random() LIMIT 25)"
                )
            ]
            phones = [
                r[0]
                for r in conn.execute(
                    "SELECT digits FROM contacts_phonenumber WHERE length(digits) >= 7 ORDER BY random() LIMIT 50"
                )
            ]
            self.depth_markers = {}
            for depth in DEPTHS:
                position = min(self.total - 1, int(depth * self.total))
                row = conn.execute(
                    "SELECT type, account_id FROM accounts_account ORDER BY type, account_id OFFSET %s LIMIT 1",
                    (position,),
                ).fetchone()
                self.depth_markers[depth] = (position, row)
        rng.shuffle(self.accounts)
        self.name_fragments = [_fragment(rng, n, 5) for n in names if n and len(n.strip()) >= 4]
        self.email_fragments = [_fragment(rng, e.split("@")[0], 5) for e in self.emails if len(e.split("@")[0]) >= 4]
        self.phone_fragments = [_fragment(rng, p, 6) for p in phones]
        self.type_ids = [f"{t}/{i}" for t, i in self.accounts[:50]]

    def search_queries(self) -> dict[str, list[str]]:
        return {
            "rcn": self.rcns,
            "type_id": self.type_ids,
            "rpn": self.rpns,
            "email": self.emails,
            "name_fragment": self.name_fragments,
            "email_fragment": self.email_fragments,
            "phone_fragment": self.phone_fragments,
        }


def _fragment(rng: random.Random, text: str, length: int) -> str:
    text = text.strip()
    if len(text) <= length:
        return text
    start = rng.randrange(0, len(text) - length + 1)
    return text[start : start + length].strip() or text[:length]


DEPTHS = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99)


def explain(url: str, samples: Samples) -> dict:
    """EXPLAIN ANALYZE of the floor's SQL (the same SQL the API should run) at the first page and at 90%."""
    from .floor import ACCOUNT_SQL, FIRST_PAGE_SQL, PAGE_SQL

    plans = {}
    deep = samples.depth_markers[0.9][1]
    t, i = samples.accounts[0]
    with psycopg.connect(url, autocommit=True) as conn:
        for label, query, params in (
            ("account by type and id", ACCOUNT_SQL, (t, i)),
            ("first list page", FIRST_PAGE_SQL, (51,)),
            ("list page at 90% (keyset)", PAGE_SQL, (deep[0], deep[1], 51)),
        ):
            rows = conn.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {query}", params).fetchall()
            plans[label] = "\n".join(r[0] for r in rows)
    return plans


def measure(scale: int, args, out_dir: Path) -> dict:
    results: dict = {
        "scale": scale,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "missing": [],
        "environment": {},
    }
    missing = results["missing"]
    try:
        info = dataset.ensure_dataset(
            scale, args.pg_url, Path(args.data), log, rebuild=args.rebuild, prefix=args.db_prefix
        )
    except (RuntimeError, OSError, psycopg.Error) as exc:
        missing.append(f"data set: {exc}".strip()[:500])
        return results
    results["dataset"] = info
    url = dataset.database_url(args.pg_url, info["database"])
    with psycopg.connect(url, autocommit=True) as conn:
        results["environment"]["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
    import multiprocessing

    import gunicorn

    results["environment"].update(
        {"cpus": multiprocessing.cpu_count(), "gunicorn": gunicorn.__version__, "load_before": os.getloadavg()}
    )
    if args.skip_export:
        missing.append("export: skipped (--skip-export)")
    else:
        try:
            results["export"] = dataset.measure_export(url, log)
        except (RuntimeError, OSError) as exc:
            missing.append(f"export: {exc}"[:500])

    if not args.skip_contacts_profile:
        try:
            results["contacts_profile"] = dataset.measure_profile(
                scale, args.pg_url, Path(args.data), log, profile="contacts", rebuild=args.rebuild
            )
        except (RuntimeError, OSError, psycopg.Error) as exc:
            missing.append(f"contacts profile import/export: {exc}"[:500])

    if not args.skip_changes:
        try:
            results["changes"] = {"table": changes.fill(url, log)}
        except psycopg.Error as exc:
            missing.append(f"change log: could not fill the change table: {exc}"[:500])
    else:
        missing.append("change log: skipped (--skip-changes)")

    samples = Samples(url)
    results["explain"] = explain(url, samples)
    user = bench_user(url)
    logs = out_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    n = args.requests
    with (
        Server("cmsportal.wsgi:application", url, logs / f"cmsportal_{scale}.log") as api,
        Server("bench.floor:application", url, logs / f"floor_{scale}.log") as floor,
    ):
        token = api_token(api.port, user["password"])
        if token:
            api_headers, results["api_auth"] = {"X-Auth-Token": token, "Accept": "application/json"}, "X-Auth-Token"
        else:
            api_headers = {"Cookie": f"sessionid={user['session']}", "Accept": "application/json"}
            results["api_auth"] = "session (POST /v2.0/tokens did not give a token)"
        session = {"Cookie": f"sessionid={user['session']}"}

        def load(port, paths, headers=None, *, requests=n, concurrency=args.concurrency, seconds=args.max_seconds):
            return run_load(
                port,
                paths,
                requests=requests,
                concurrency=concurrency,
                headers=headers,
                max_seconds=seconds,
                warmup=min(100, requests // 10),
            ).as_dict()

        gets = [f"/customer_accounts/{t}/{quote(i, safe='')}" for t, i in samples.accounts]
        pages = [f"/customer_accounts?{urlencode({'marker': f'{t}:{i}', 'limit': 50})}" for t, i in samples.accounts]
        api_ok = probe(api.port, "/v1" + gets[0], api_headers) == 200
        if not api_ok:
            missing.append(
                "REST API: GET /v1/customer_accounts/{type}/{id} did not answer 200; API figures not measured"
            )
        log("account GET and list page: floor vs API")
        results["account_get"] = {"floor": load(floor.port, ["/floor" + p for p in gets])}
        results["list_page"] = {"floor": load(floor.port, ["/floor" + p for p in pages], requests=n // 2)}
        results["account_get_throughput"] = {
            "floor": load(
                floor.port, ["/floor" + p for p in gets], requests=n * 2, concurrency=args.throughput_concurrency
            )
        }
        if api_ok:
            results["account_get"]["api"] = load(api.port, ["/v1" + p for p in gets], api_headers)
            results["list_page"]["api"] = load(api.port, ["/v1" + p for p in pages], api_headers, requests=n // 2)
            results["account_get_throughput"]["api"] = load(
                api.port,
                ["/v1" + p for p in gets],
                api_headers,
                requests=n * 2,
                concurrency=args.throughput_concurrency,
            )

            if concurrent.wrk_available():
                log("hot reads under concurrent load (wrk), floor and API in interleaved rounds")
                paths = concurrent.hot_paths(url)
                results["concurrent"] = concurrent.measure(api, floor, paths, api_headers, args, out_dir, log)
                if "changes" in results:
                    log("change feed pages vs account list pages (wrk)")
                    results["changes"]["feed"] = changes.measure_feed(api, api_headers, url, args, log)
            else:
                missing.append("concurrent load: wrk is not installed (apt-get install wrk)")

            log("list by depth")
            results["depth"] = {"marker": [], "offset": []}
            for depth in DEPTHS:
                position, (t, i) = samples.depth_markers[depth]
                marker_path = "/v1/customer_accounts?limit=50" + (f"&marker={quote(f'{t}:{i}')}" if depth else "")
                offset_path = f"/v1/customer_accounts?limit=50&offset={position}"
                for kind, path in (("marker", marker_path), ("offset", offset_path)):
                    result = load(
                        api.port,
                        [path],
                        api_headers,
                        requests=args.depth_requests,
                        concurrency=1,
                        seconds=args.depth_seconds,
                    )
                    results["depth"][kind].append({"depth": depth, "position": position, "result": result})

            log("filtered lists")
            deep = samples.depth_markers[0.9][1]
            deep_marker = f"{deep[0]}:{deep[1]}"
            filters = {"accountType=CLOUD": {"accountType": "CLOUD"}}
            if samples.domains:
                filters["domain"] = {"domain": samples.domains[0]}
            if samples.metadata:
                key, value = samples.metadata[0]
                filters["metadataKey"] = {"metadataKey": key}
                filters["metadataKey+metadataValue"] = {"metadataKey": key, "metadataValue": value}
            results["filters"] = {}
            for label, params in filters.items():
                for where, extra in (("first page", {}), ("from the 90% marker", {"marker": deep_marker})):
                    path = "/v1/customer_accounts?" + urlencode({**params, **extra, "limit": 50})
                    results["filters"][f"{label}, {where}"] = load(
                        api.port,
                        [path],
                        api_headers,
                        requests=args.depth_requests,
                        concurrency=1,
                        seconds=args.depth_seconds,
                    )

        if probe(api.port, "/search/?q=x", session) != 200:
            missing.append("staff search: GET /search/?q= did not answer 200 to a signed-in staff user; not measured")
        else:
            log("search and suggestions")
            results["search"], results["suggest"] = {}, {}
            for category, queries in samples.search_queries().items():
                if not queries:
                    missing.append(f"search category {category}: no sample in the data set")
                    continue
                for endpoint, prefix in (("search", "/search/?"), ("suggest", "/search/suggest?")):
                    paths = [prefix + urlencode({"q": q}) for q in queries]
                    # An identifier that names one record answers with a redirect to it: a success.
                    results[endpoint][category] = run_load(
                        api.port,
                        paths,
                        requests=args.search_requests,
                        concurrency=1,
                        headers=session,
                        max_seconds=args.max_seconds,
                        warmup=min(20, args.search_requests // 10),
                        expect=(200, 302),
                    ).as_dict()
            log("staff account pages")
            # The page staff open most: an account with its contacts, metadata, trails and changes.
            results["staff_pages"] = {
                "account": run_load(
                    api.port,
                    [f"/accounts/{quote(t, safe='')}/{quote(i, safe='')}/" for t, i in samples.accounts],
                    requests=args.search_requests,
                    concurrency=1,
                    headers=session,
                    max_seconds=args.max_seconds,
                    warmup=min(20, args.search_requests // 10),
                ).as_dict()
            }
    log("per-request CPU of the hot reads, in process")
    try:
        results["cpu"] = cpu.measure_in_subprocess(url, args.cpu_requests)
    except RuntimeError as exc:
        missing.append(f"per-request CPU: {exc}"[:500])
    if "changes" in results:
        log("writes with and without their change record, in process")
        try:
            results["changes"]["writes"] = changes.measure_writes_in_subprocess(
                url, args.change_writes, args.change_rounds
            )
        except RuntimeError as exc:
            missing.append(f"change log writes: {exc}"[:500])
    # Other work on the machine is part of every figure: say how busy it was.
    results["environment"]["load_after"] = os.getloadavg()
    return results


def default_sizes(scale: int) -> list[int]:
    return sorted({s for s in (scale // 100, scale // 10) if s >= 1000} | {scale})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", type=int, default=100_000, help="accounts in the main data set")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"), help="folder for report.md, chart.png, results")
    parser.add_argument("--sizes", help="comma-separated data sizes to measure too (default: scale/100, scale/10)")
    parser.add_argument("--data", default=str(ROOT / "bench" / "data"), help="folder for the exchange files")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres", help="PostgreSQL server")
    parser.add_argument("--requests", type=int, default=1000, help="requests per latency measurement")
    parser.add_argument("--concurrency", type=int, default=2, help="connections for latency measurements")
    parser.add_argument("--throughput-concurrency", type=int, default=8, help="connections for the throughput run")
    parser.add_argument("--depth-requests", type=int, default=100, help="requests per depth point and filter")
    parser.add_argument("--depth-seconds", type=float, default=15.0, help="time bound per depth point and filter")
    parser.add_argument("--search-requests", type=int, default=100, help="requests per search category")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time bound per measurement")
    parser.add_argument("--rebuild", action="store_true", help="rebuild data sets even when present")
    parser.add_argument("--skip-export", action="store_true", help="do not measure export")
    parser.add_argument(
        "--remeasure",
        action="store_true",
        help="measure the other sizes again even when the out folder has their results",
    )
    parser.add_argument(
        "--db-prefix",
        default=None,
        help="data set databases are named <prefix>_<N> (default: BENCH_DB_PREFIX or cms_bench)",
    )
    parser.add_argument(
        "--replica",
        action="store_true",
        help="only compare reads routed to a streaming replica with primary-only (bench/replica.py)",
    )
    parser.add_argument("--rounds", type=int, default=6, help="--replica: interleaved rounds")
    parser.add_argument("--replica-requests", type=int, default=300, help="--replica: requests per round and endpoint")
    parser.add_argument("--skip-changes", action="store_true", help="do not measure the change log's cost")
    parser.add_argument("--change-writes", type=int, default=5, help="writes per side, operation and round")
    parser.add_argument("--change-rounds", type=int, default=80, help="interleaved rounds of the write measurement")
    concurrent.add_arguments(parser)
    args = parser.parse_args(argv)

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.replica:
        from .replica import measure_replica, write_replica_report

        results = measure_replica(args.scale, args, out_dir, log)
        log(f"report: {write_replica_report(results, out_dir)}")
        for endpoint, ratio in results["ratio"].items():
            log(
                f"{endpoint}: CPU ratio {ratio['cpu']:.3f}, p50 ratio {ratio['p50']:.3f}, "
                f"requests/s ratio {ratio['rps']:.3f}"
                " (replica / primary-only)"
            )
        return 0
    sizes = sorted({int(s) for s in args.sizes.split(",")} | {args.scale}) if args.sizes else default_sizes(args.scale)
    began = time.perf_counter()
    runs = {}
    for size in sizes:
        stored = out_dir / f"results_{size}.json"
        if size != args.scale and not args.remeasure and stored.exists():
            log(f"reusing results of {size} accounts from {stored}")
            runs[size] = json.loads(stored.read_text())
            continue
        log(f"=== {size:,} accounts ===")
        try:
            runs[size] = measure(size, args, out_dir)
        except Exception as exc:  # noqa: BLE001 (the report says what failed instead of losing the run)
            traceback.print_exc()
            runs[size] = {"scale": size, "missing": [f"run failed: {type(exc).__name__}: {exc}"[:500]]}
        stored.write_text(json.dumps(runs[size], indent=1, default=str))
    history = list(runs.values())
    for path in out_dir.glob("results_*.json"):
        data = json.loads(path.read_text())
        if data.get("scale") not in runs:
            history.append(data)
    main_results = runs[args.scale]
    main_results["total_seconds"] = time.perf_counter() - began
    report = write_report(main_results, out_dir, history)
    log(f"report: {report} ({main_results['total_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
