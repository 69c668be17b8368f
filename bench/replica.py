"""`python -m bench --replica`: the price of routing reads to a streaming replica, side by side with primary-only.

1. The data set (`bench/dataset.py`, reused when loaded) is copied (`pg_dump | pg_restore`) into a primary of
   our own, and a streaming replica is made of it (`bench/pgcluster.py`, the tests' builder).
2. Two gunicorn servers (gunicorn.conf.py, the same workers and threads) on that primary: one primary-only,
   one with `DATABASE_REPLICA_URLS` naming the replica (the hot reads below go to it; the report checks it:
   the replica's own committed-transaction count must grow by at least the requests sent).
3. Rounds, interleaved (primary-only then replica, then the other way round, ...): account GET, the first
   list page, staff search, each a fixed number of requests per round. The machine is shared: the figure
   is the median over rounds of each mode's p50 and requests/s, and their ratio (replica / primary-only).

Both servers read from a database on the same machine: the ratio is the routing's own cost (the
middleware, the router, the health check, a second connection), not the benefit of another host's CPU.
"""

import json
import statistics
import subprocess
from pathlib import Path
from urllib.parse import quote, urlencode

from . import dataset
from .capacity import group_pids, process_cpu_seconds
from .loadgen import run_load
from .pgcluster import DBNAME, PgServer, streaming_pair
from .servers import Server

__all__ = ["ENDPOINTS", "copy_into", "measure_replica", "summarize", "write_replica_report"]

ENDPOINTS = ("account GET", "list first page", "search")
BENCH_SETTINGS = "shared_buffers = 256MB\nmax_connections = 100\nwork_mem = 8MB\n"


def copy_into(source_url: str, log):
    """`prepare` for streaming_pair: the source database, dumped and restored into the new primary."""

    def prepare(primary: PgServer):
        log("copying the data set into a primary of our own (pg_dump | pg_restore)")
        dump = subprocess.Popen(  # noqa: S603
            [str(primary.bindir / "pg_dump"), "--no-owner", "--no-privileges", "-Fc", "-d", source_url],
            stdout=subprocess.PIPE,
        )
        restore = subprocess.run(  # noqa: S603
            [str(primary.bindir / "pg_restore"), "--no-owner", "--no-privileges", "-d", primary.url()],
            stdin=dump.stdout,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        dump.stdout.close()
        if dump.wait(timeout=60) != 0 or restore.returncode != 0:
            raise RuntimeError(f"copying the data set failed: {restore.stderr[-2000:]}")
        with primary.connect() as conn:
            conn.execute("VACUUM ANALYZE")
        return primary.url()

    return prepare


def _replica_commits(replica: PgServer) -> int:
    with replica.connect() as conn:
        return conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s", [DBNAME]).fetchone()[0]


def measure_replica(scale: int, args, out_dir: Path, log) -> dict:
    from .__main__ import Samples, api_token, bench_user, probe

    info = dataset.ensure_dataset(scale, args.pg_url, Path(args.data), log, prefix=args.db_prefix)
    source = dataset.database_url(args.pg_url, info["database"])
    results: dict = {"scale": scale, "rounds": args.rounds, "requests_per_round": args.replica_requests, "modes": {}}
    logs = out_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with streaming_pair(copy_into(source, log), settings=BENCH_SETTINGS, prepare_timeout=1800) as pair:
        url = pair.primary.url()
        user = bench_user(url)
        samples = Samples(url)
        pair.wait_replayed(timeout=120)
        common = {"CMS_REPLICA_CHECK_SECONDS": "3", "CMS_REPLICA_MAX_LAG_SECONDS": "10"}
        with (
            Server("cmsportal.wsgi:application", url, logs / f"primary_only_{scale}.log", **common) as primary_only,
            Server(
                "cmsportal.wsgi:application",
                url,
                logs / f"replica_{scale}.log",
                DATABASE_REPLICA_URLS=pair.replica.url(),
                **common,
            ) as routed,
        ):
            token = api_token(primary_only.port, user["password"])
            if not token:
                raise RuntimeError("POST /v2.0/tokens gave no token")
            pair.wait_replayed(timeout=60)
            api = {"X-Auth-Token": token, "Accept": "application/json"}
            session = {"Cookie": f"sessionid={user['session']}"}
            gets = [f"/v1/customer_accounts/{t}/{quote(i, safe='')}" for t, i in samples.accounts]
            first_pages = ["/v1/customer_accounts?limit=50"]
            searches = ["/search/?" + urlencode({"q": q}) for qs in samples.search_queries().values() for q in qs[:10]]
            load = {  # endpoint: (paths, headers, statuses that count as success)
                "account GET": (gets, api, (200,)),
                "list first page": (first_pages, api, (200,)),
                "search": (searches, session, (200, 302)),
            }
            servers = {"primary-only": primary_only, "replica": routed}
            for server in servers.values():  # signed in: not a redirect to the sign-in page
                if probe(server.port, "/search/?q=x", session) != 200:
                    raise RuntimeError("GET /search/?q=x did not answer 200 to the signed-in staff user")
            for name, server in servers.items():
                for endpoint, (paths, headers, expect) in load.items():
                    status = probe(server.port, paths[0], headers)
                    if status not in expect:
                        raise RuntimeError(f"{name}: {endpoint} {paths[0]} answered {status}")
            rounds: dict = {mode: {endpoint: [] for endpoint in load} for mode in servers}
            commits_before = _replica_commits(pair.replica)
            sent_to_replica = 0
            for number in range(args.rounds):
                order = list(servers) if number % 2 == 0 else list(reversed(servers))
                log(f"round {number + 1}/{args.rounds}: {' then '.join(order)}")
                for endpoint, (paths, headers, expect) in load.items():
                    for mode in order:
                        port, group = servers[mode].port, servers[mode].process.pid
                        run_load(port, paths, requests=20, concurrency=args.concurrency, headers=headers, expect=expect)
                        cpu = process_cpu_seconds(group_pids(group))
                        result = run_load(
                            port,
                            paths,
                            requests=args.replica_requests,
                            concurrency=args.concurrency,
                            headers=headers,
                            max_seconds=args.max_seconds,
                            expect=expect,
                        ).as_dict()
                        cpu = process_cpu_seconds(group_pids(group)) - cpu
                        result["cpu_ms"] = cpu * 1000 / max(1, result["requests"])
                        rounds[mode][endpoint].append(result)
                        if mode == "replica":
                            sent_to_replica += result["requests"]
            results["replica_commits"] = _replica_commits(pair.replica) - commits_before
            results["sent_to_replica_server"] = sent_to_replica
    results["rounds_raw"] = rounds
    summarize(results)
    (out_dir / f"replica_{scale}.json").write_text(json.dumps(results, indent=1, default=str))
    return results


def summarize(results: dict) -> dict:
    """Each mode's medians over the rounds (`rounds_raw`) and the ratios replica / primary-only."""
    for mode, by_endpoint in results["rounds_raw"].items():
        results["modes"][mode] = {
            endpoint: {
                "p50_ms": statistics.median(r["p50"] for r in runs),
                "p95_ms": statistics.median(r["p95"] for r in runs),
                "rps": statistics.median(r["rps"] for r in runs),
                "cpu_ms": statistics.median(r["cpu_ms"] for r in runs),
                "errors": sum(r["errors"] for r in runs),
            }
            for endpoint, runs in by_endpoint.items()
        }
    results["ratio"] = {
        endpoint: {
            "cpu": results["modes"]["replica"][endpoint]["cpu_ms"]
            / results["modes"]["primary-only"][endpoint]["cpu_ms"],
            "p50": results["modes"]["replica"][endpoint]["p50_ms"]
            / results["modes"]["primary-only"][endpoint]["p50_ms"],
            "rps": results["modes"]["replica"][endpoint]["rps"] / results["modes"]["primary-only"][endpoint]["rps"],
        }
        for endpoint in ENDPOINTS
    }
    return results


def write_replica_report(results: dict, out_dir: Path) -> Path:
    lines = [
        f"# Reads on a streaming replica vs primary-only: {results['scale']:,} accounts",
        "",
        f"{results['rounds']} interleaved rounds of {results['requests_per_round']} requests per endpoint and mode; "
        "medians over rounds. Ratio = replica / primary-only (p50: lower is better; requests/s: higher is better). "
        "Target: the routing costs at most 5 %. On a shared machine the latencies swing with other work; the "
        "application CPU per request (gunicorn's processes, from /proc, median over the rounds) does "
        "not, and is the figure the target is judged on.",
        "",
        "| endpoint | primary-only CPU ms | replica CPU ms | CPU ratio | within 5 % | primary-only p50 ms "
        "| replica p50 ms | p50 ratio | primary-only req/s | replica req/s | req/s ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for endpoint in ENDPOINTS:
        p, r, ratio = (
            results["modes"]["primary-only"][endpoint],
            results["modes"]["replica"][endpoint],
            results["ratio"][endpoint],
        )
        lines.append(
            f"| {endpoint} | {p['cpu_ms']:.2f} | {r['cpu_ms']:.2f} | {ratio['cpu']:.3f} "
            f"| {'yes' if ratio['cpu'] <= 1.05 else 'no'} | {p['p50_ms']:.2f} | {r['p50_ms']:.2f} | {ratio['p50']:.3f} "
            f"| {p['rps']:.0f} | {r['rps']:.0f} | {ratio['rps']:.3f} |"
        )
    errors = sum(m[e]["errors"] for m in results["modes"].values() for e in ENDPOINTS)
    lines += [
        "",
        f"Errors: {errors}. Transactions committed on the replica while measuring: {results['replica_commits']:,} "
        f"(requests sent to the replica-mode server: {results['sent_to_replica_server']:,}; each read request is at "
        "least one transaction there, so fewer commits than requests would mean reads did not reach it).",
    ]
    path = out_dir / "replica.md"
    path.write_text("\n".join(lines) + "\n")
    return path
