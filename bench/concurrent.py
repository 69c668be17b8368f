"""Concurrent load on the hot API reads with wrk, cmsportal against the floor, both under gunicorn.conf.py.

For each hot read (account GET, list first page, list by marker at random depths, an account's
contacts, its metadata, one contact, its status history) `wrk -t2 -c8` runs for a fixed time against
the floor and then against cmsportal, in interleaved rounds (floor, api, floor, api, ...: other work
on the machine hits both alike); the report gives the medians of the rounds and the ratios
cmsportal/floor (p50 latency, requests/s). A Lua script picks a random path per request from a file
of real paths drawn from the data set.

While the servers are under load, the resident memory of every gunicorn worker is sampled (VmRSS,
and VmHWM, the kernel's own peak, at the end): the report gives the highest. Unless `--no-flames`, one
more wrk run per hot read is recorded by py-spy (all workers: `--subprocesses`) into a flame graph
`flames/<read>.svg` in the out folder.
"""

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg

HOT_READS = ("account_get", "list_first_page", "list_by_marker", "contacts", "metadata", "contact", "status_history")
P50_RATIO_TARGET = 2.0  # cmsportal p50 at most twice the floor's
RPS_RATIO_TARGET = 0.5  # cmsportal requests/s at least half the floor's
WORKER_RSS_TARGET_MIB = 80.0

# One path per request, drawn at random from the file named by the first argument (a seed per thread).
LUA = r"""
local paths = {}
local counter = 0
local thread_ids = 0

function setup(thread)
  thread_ids = thread_ids + 1
  thread:set("tid", thread_ids)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  math.randomseed(tonumber(args[2] or "1") * 1000 + (tid or 0))
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "WRKJSON {\"requests\": %d, \"duration_us\": %d, \"p50_us\": %d, \"p90_us\": %d, \"p99_us\": %d, " ..
    "\"mean_us\": %f, \"connect\": %d, \"read\": %d, \"write\": %d, \"status\": %d, \"timeout\": %d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def parse_wrk(output: str, connections: int) -> dict:
    """The figures of one wrk run, from the line the Lua `done` prints (latencies in ms)."""
    for line in output.splitlines():
        if line.startswith("WRKJSON "):
            raw = json.loads(line[len("WRKJSON ") :])
            seconds = raw["duration_us"] / 1e6
            errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
            return {
                "requests": raw["requests"],
                "seconds": seconds,
                "rps": raw["requests"] / seconds if seconds else 0.0,
                "p50": raw["p50_us"] / 1000,
                "p90": raw["p90_us"] / 1000,
                "p99": raw["p99_us"] / 1000,
                "mean": raw["mean_us"] / 1000,
                "errors": errors,
                "non_2xx": raw["status"],
                "concurrency": connections,
            }
    raise RuntimeError(f"wrk gave no figures: {output[-500:]}")


def run_wrk(
    port: int,
    paths: list[str],
    headers: dict | None = None,
    *,
    seconds: float = 10.0,
    connections: int = 8,
    threads: int = 2,
    seed: int = 1,
) -> dict:
    """`wrk -t{threads} -c{connections} -d{seconds}s` on 127.0.0.1:port, a random path of `paths` per request."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        script, listing = Path(folder) / "paths.lua", Path(folder) / "paths.txt"
        script.write_text(LUA)
        listing.write_text("\n".join(paths) + "\n")
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        command += ["-s", str(script), f"http://127.0.0.1:{port}", "--", str(listing), str(seed)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr[-500:]}")
    return parse_wrk(result.stdout, connections)


def worker_pids(master_pid: int) -> list[int]:
    """The gunicorn workers: the master's children."""
    try:
        text = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text()
    except OSError:
        return []
    return [int(pid) for pid in text.split()]


def _status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class RssSampler:
    """Samples the resident memory of a gunicorn master's workers in a thread; `peak_mib` is the highest seen."""

    def __init__(self, master_pid: int, interval: float = 0.25):
        self.master_pid, self.interval = master_pid, interval
        self.peak_kib, self.samples = 0, 0
        self.pids: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        for pid in worker_pids(self.master_pid):
            self.pids.add(pid)
            for field in ("VmRSS", "VmHWM"):
                value = _status_kib(pid, field)
                if value:
                    self.peak_kib = max(self.peak_kib, value)
        self.samples += 1

    def _run(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self):
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    def as_dict(self) -> dict:
        return {"peak_mib": self.peak_kib / 1024, "workers_seen": len(self.pids), "samples": self.samples}


def hot_paths(url: str, seed: int = 11, size: int = 500) -> dict[str, list[str]]:
    """Real paths (without /v1 or /floor) for every hot read, drawn from the data set with a fixed seed."""
    rng = random.Random(seed)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT setseed(0.11)")
        accounts = conn.execute(
            "SELECT type, account_id FROM accounts_account ORDER BY random() LIMIT %s", (size,)
        ).fetchall()
        contacts = conn.execute(
            "SELECT a.type, a.account_id, c.contact_number FROM contacts_accountcontact l "
            "JOIN accounts_account a ON a.id = l.account_id JOIN contacts_contact c ON c.id = l.contact_id "
            "ORDER BY random() LIMIT %s",
            (size,),
        ).fetchall()
    rng.shuffle(accounts)
    account = [f"/customer_accounts/{t}/{quote(i, safe='')}" for t, i in accounts]
    return {
        "account_get": account,
        "list_first_page": ["/customer_accounts?limit=50"],
        "list_by_marker": [f"/customer_accounts?{urlencode({'marker': f'{t}:{i}', 'limit': 50})}" for t, i in accounts],
        "contacts": [f"{path}/contacts" for path in account],
        "metadata": [f"{path}/metadata" for path in account],
        "contact": [
            f"/customer_accounts/{t}/{quote(i, safe='')}/contacts/{quote(rpn, safe='')}" for t, i, rpn in contacts
        ],
        "status_history": [f"{path}/status_history" for path in account],
    }


def _median(runs: list[dict], key: str):
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


def summarize(runs: dict, base: str = "floor", measured: str = "api") -> dict:
    """Medians of the rounds of each side and the ratios `measured`/`base` (cmsportal/floor by default)."""
    summary = {}
    for side in (base, measured):
        rounds = runs.get(side) or []
        summary[side] = {key: _median(rounds, key) for key in ("p50", "p90", "p99", "rps")}
        summary[side]["errors"] = sum(run.get("errors", 0) for run in rounds)
    top, bottom = summary[measured], summary[base]
    summary["p50_ratio"] = top["p50"] / bottom["p50"] if top["p50"] is not None and bottom["p50"] else None
    summary["rps_ratio"] = top["rps"] / bottom["rps"] if top["rps"] is not None and bottom["rps"] else None
    return summary


def record_flame(master_pid: int, seconds: float, output: Path) -> subprocess.Popen | str:
    """Start py-spy on every worker of `master_pid` for `seconds`: the running py-spy, or why it cannot run."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not os.path.exists(spy):
        return "py-spy is not installed (pip install -e '.[bench]')"
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [spy, "record", "--pid", str(master_pid), "--subprocesses", "--nonblocking", "--rate", "250"]
    command += ["--duration", str(max(1, int(seconds))), "--format", "flamegraph", "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def measure(api, floor, paths: dict, api_headers: dict, args, out_dir: Path, log) -> dict:
    """Interleaved wrk rounds on every hot read, worker memory under load, and (unless --no-flames) flame graphs."""
    results: dict = {"connections": args.wrk_connections, "threads": 2, "seconds": args.wrk_seconds, "reads": {}}
    results["rounds"] = args.wrk_rounds
    with RssSampler(api.process.pid) as api_rss, RssSampler(floor.process.pid) as floor_rss:
        for name in HOT_READS:
            runs = {"floor": [], "api": []}
            for round_ in range(args.wrk_rounds):
                for side, server, prefix, headers in (("floor", floor, "/floor", {}), ("api", api, "/v1", api_headers)):
                    runs[side].append(
                        run_wrk(
                            server.port,
                            [prefix + path for path in paths[name]],
                            headers,
                            seconds=args.wrk_seconds,
                            connections=args.wrk_connections,
                            seed=round_ + 1,
                        )
                    )
            results["reads"][name] = {"runs": runs, **summarize(runs)}
            summary = results["reads"][name]
            log(
                f"  {name}: p50 {summary['api']['p50']:.2f} ms vs floor {summary['floor']['p50']:.2f} ms, "
                f"{summary['api']['rps']:.0f} vs {summary['floor']['rps']:.0f} req/s"
            )
        if args.flames:
            results["flames"] = {}
            for name in HOT_READS:
                svg = out_dir / "flames" / f"{name}.svg"
                spy = record_flame(api.process.pid, args.wrk_seconds, svg)
                if isinstance(spy, str):
                    results["flames"]["error"] = spy
                    break
                run_wrk(
                    api.port,
                    ["/v1" + path for path in paths[name]],
                    api_headers,
                    seconds=args.wrk_seconds + 1,
                    connections=args.wrk_connections,
                )
                _, err = spy.communicate(timeout=args.wrk_seconds + 120)
                if spy.returncode == 0 and svg.exists():
                    results["flames"][name] = str(svg.relative_to(out_dir))
                else:
                    results["flames"]["error"] = f"py-spy failed: {err.decode(errors='replace')[-300:]}"
                    break
    results["worker_rss"] = {"api": api_rss.as_dict(), "floor": floor_rss.as_dict()}
    return results


def report_lines(concurrent: dict | None) -> list[str]:
    """The Markdown section of the report for the concurrent measurements."""
    if not concurrent:
        return []
    lines = [
        "## Concurrent load: cmsportal vs floor (wrk)",
        "",
        f"`wrk -t{concurrent['threads']} -c{concurrent['connections']}`, {concurrent['seconds']:g} s per run, "
        f"{concurrent['rounds']} interleaved rounds (floor, cmsportal, floor, ...), medians; both servers under "
        "gunicorn.conf.py. Targets: cmsportal p50 ≤ "
        f"{P50_RATIO_TARGET:g}x the floor's and requests/s ≥ {RPS_RATIO_TARGET:g}x.",
        "",
        "| read | floor p50 | cmsportal p50 | p50 ratio | floor req/s | cmsportal req/s | req/s ratio | "
        "cmsportal p99 | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, read in concurrent.get("reads", {}).items():
        api, floor = read["api"], read["floor"]

        def ms(value):
            return "n/a" if value is None else f"{value:.2f} ms"

        def ratio(value):
            return "n/a" if value is None else f"{value:.2f}x"

        def rps(value):
            return "n/a" if value is None else f"{value:,.0f}"

        lines.append(
            f"| {name} | {ms(floor['p50'])} | {ms(api['p50'])} | {ratio(read['p50_ratio'])} | {rps(floor['rps'])} | "
            f"{rps(api['rps'])} | {ratio(read['rps_ratio'])} | {ms(api['p99'])} | {api['errors']} |"
        )
    rss = concurrent.get("worker_rss", {})
    if rss:
        lines += [
            "",
            "Peak resident memory of a gunicorn worker under this load (VmRSS sampled, and VmHWM): "
            + ", ".join(f"{side} {value['peak_mib']:.1f} MiB" for side, value in rss.items()),
        ]
    flames = concurrent.get("flames") or {}
    if flames:
        lines += ["", "Flame graphs (py-spy, every worker, one wrk run per read): "]
        lines[-1] += ", ".join(f"[{name}]({path})" for name, path in flames.items() if name != "error")
        if "error" in flames:
            lines.append(f"Flame graphs not recorded: {flames['error']}")
    return [*lines, ""]


def targets(concurrent: dict | None) -> list[tuple[str, str, str, bool | None]]:
    """(what, target, measured, met) for the concurrent targets."""
    rows = []
    for name in HOT_READS:
        read = (concurrent or {}).get("reads", {}).get(name)
        p50, rps = (read or {}).get("p50_ratio"), (read or {}).get("rps_ratio")
        errors = (read or {}).get("api", {}).get("errors", 0)
        rows.append(
            (
                f"{name} under 8 clients: p50 vs floor",
                f"≤ {P50_RATIO_TARGET:g}x",
                "n/a" if p50 is None else f"{p50:.2f}x",
                None if p50 is None else p50 <= P50_RATIO_TARGET and errors == 0,
            )
        )
        rows.append(
            (
                f"{name} under 8 clients: req/s vs floor",
                f"≥ {RPS_RATIO_TARGET:g}x",
                "n/a" if rps is None else f"{rps:.2f}x",
                None if rps is None else rps >= RPS_RATIO_TARGET and errors == 0,
            )
        )
    peak = (concurrent or {}).get("worker_rss", {}).get("api", {}).get("peak_mib")
    rows.append(
        (
            "gunicorn worker peak RSS under load",
            f"< {WORKER_RSS_TARGET_MIB:g} MiB",
            "n/a" if peak is None else f"{peak:.1f} MiB",
            None if peak is None else peak < WORKER_RSS_TARGET_MIB,
        )
    )
    return rows


def add_arguments(parser) -> None:
    """The options of the concurrent, per-request CPU and contact-heavy measurements."""
    parser.add_argument("--cpu-requests", type=int, default=200, help="in-process requests per round and hot read")
    parser.add_argument(
        "--skip-contacts-profile", action="store_true", help="do not measure import/export of the contact-heavy set"
    )
    parser.add_argument("--wrk-seconds", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--wrk-rounds", type=int, default=3, help="interleaved rounds per hot read")
    parser.add_argument("--wrk-connections", type=int, default=8, help="wrk connections (2 threads)")
    parser.add_argument(
        "--no-flames", dest="flames", action="store_false", help="do not record a py-spy flame graph per hot read"
    )
