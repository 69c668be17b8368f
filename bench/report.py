"""The benchmark report: Markdown with every figure and target, and a PNG chart."""

import json
from pathlib import Path

from . import changes, concurrent

SEARCH_TARGET_MS = 50.0
EXACT_TARGET_MS = 5.0
ACCOUNT_PAGE_TARGET_MS = 15.0
FLOOR_RATIO_TARGET = 3.0
DEPTH_RATIO_TARGET = 1.2
GETS_PER_SECOND_TARGET = 1000.0
IMPORT_TARGET = 50_000.0
EXPORT_TARGET = 100_000.0
EXPORT_MEMORY_TARGET_MB = 200.0
EXACT_CATEGORIES = ("rcn", "type_id", "rpn", "email")


def _get(data, *path):
    for key in path:
        if not isinstance(data, dict) or key not in data or data[key] is None:
            return None
        data = data[key]
    return data


def _ms(value) -> str:
    return "n/a" if value is None else f"{value:.2f} ms"


def _num(value, fmt="{:,.0f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def _loadavg(value) -> str:
    return "n/a" if not value else ", ".join(f"{v:.2f}" for v in value)


def _ratio(a, b):
    return a / b if a is not None and b else None


def _p50_at(results, kind: str, depth: float):
    for point in _get(results, "depth", kind) or []:
        if abs(point["depth"] - depth) < 1e-9:
            return _get(point, "result", "p50")
    return None


def targets(results: dict) -> list[tuple[str, str, str, bool | None]]:
    """(what, target, measured, met) for every target; met is None when it could not be measured."""
    rows = []

    def add(what, target, measured, met):
        rows.append((what, target, measured, None if measured == "n/a" or met is None else bool(met)))

    for label, key in (("Account GET p50", "account_get"), ("50-row list page p50", "list_page")):
        api, floor = _get(results, key, "api", "p50"), _get(results, key, "floor", "p50")
        ratio = _ratio(api, floor)
        add(
            f"{label} vs floor",
            f"≤ {FLOOR_RATIO_TARGET:g}x floor",
            "n/a" if ratio is None else f"{ratio:.2f}x ({_ms(api)} vs {_ms(floor)})",
            None if ratio is None else ratio <= FLOOR_RATIO_TARGET,
        )
    throughput = _get(results, "account_get_throughput", "api")
    rps, errors = _get(throughput, "rps"), _get(throughput, "errors")
    add(
        "Account GETs per second",
        f"≥ {GETS_PER_SECOND_TARGET:,.0f}/s, 0 errors",
        "n/a" if rps is None else f"{rps:,.0f}/s, {errors} errors",
        None if rps is None else rps >= GETS_PER_SECOND_TARGET and errors == 0,
    )
    first, deep = _p50_at(results, "marker", 0.0), _p50_at(results, "marker", 0.9)
    ratio = _ratio(deep, first)
    add(
        "List page at 90% depth vs first page (marker)",
        f"≤ {DEPTH_RATIO_TARGET:g}x",
        "n/a" if ratio is None else f"{ratio:.2f}x ({_ms(deep)} vs {_ms(first)})",
        None if ratio is None else ratio <= DEPTH_RATIO_TARGET,
    )
    for endpoint in ("search", "suggest"):
        for category, result in sorted((_get(results, endpoint) or {}).items()):
            # Every query: p95 under 50 ms. Exact identifiers also: the typical (p50) answer under 5 ms.
            checks = [("p95", SEARCH_TARGET_MS, "")]
            if category in EXACT_CATEGORIES:
                checks.append(("p50", EXACT_TARGET_MS, " (exact identifier)"))
            for which, limit, note in checks:
                value = _get(result, which)
                add(
                    f"{endpoint} `{category}` {which}",
                    f"< {limit:g} ms{note}",
                    "n/a" if value is None else f"{_ms(value)} ({result.get('errors', 0)} errors)",
                    None if value is None else value < limit and not result.get("errors"),
                )
    page = _get(results, "staff_pages", "account")
    value = _get(page, "p50")
    add(
        "Staff account page p50 (signed in)",
        f"< {ACCOUNT_PAGE_TARGET_MS:g} ms",
        "n/a" if value is None else f"{_ms(value)} ({page.get('errors', 0)} errors)",
        None if value is None else value < ACCOUNT_PAGE_TARGET_MS and not page.get("errors"),
    )
    rate = _get(results, "dataset", "import", "records_per_second")
    add(
        "Import rate",
        f"≥ {IMPORT_TARGET:,.0f} records/s",
        "n/a" if rate is None else f"{rate:,.0f} records/s",
        None if rate is None else rate >= IMPORT_TARGET,
    )
    rate, rss = _get(results, "export", "records_per_second"), _get(results, "export", "peak_rss_mb")
    add(
        "Export rate and memory",
        f"≥ {EXPORT_TARGET:,.0f} records/s in < {EXPORT_MEMORY_TARGET_MB:g} MB",
        "n/a" if rate is None else f"{rate:,.0f} records/s, peak {rss:.0f} MB",
        None if rate is None else rate >= EXPORT_TARGET and rss < EXPORT_MEMORY_TARGET_MB,
    )
    profile = results.get("contacts_profile")
    if profile is not None:
        rate, rss = (
            _get(profile, "dataset", "import", "records_per_second"),
            _get(profile, "dataset", "import", "peak_rss_mb"),
        )
        add(
            "Import rate and memory, contact-heavy profile",
            f"≥ {IMPORT_TARGET:,.0f} records/s in < {EXPORT_MEMORY_TARGET_MB:g} MB",
            "n/a" if rate is None else f"{rate:,.0f} records/s, peak {_num(rss, '{:.0f} MB')}",
            None if rate is None or rss is None else rate >= IMPORT_TARGET and rss < EXPORT_MEMORY_TARGET_MB,
        )
        rate, rss = _get(profile, "export", "records_per_second"), _get(profile, "export", "peak_rss_mb")
        add(
            "Export rate and memory, contact-heavy profile",
            f"≥ {EXPORT_TARGET:,.0f} records/s in < {EXPORT_MEMORY_TARGET_MB:g} MB",
            "n/a" if rate is None else f"{rate:,.0f} records/s, peak {_num(rss, '{:.0f} MB')}",
            None if rate is None or rss is None else rate >= EXPORT_TARGET and rss < EXPORT_MEMORY_TARGET_MB,
        )
    if "concurrent" in results:
        for what, target, measured, met in concurrent.targets(results["concurrent"]):
            add(what, target, measured, met)
    for what, target, measured, met in changes.targets(results.get("changes")):
        add(what, target, measured, met)
    return rows


def _cpu_lines(cpu: dict | None) -> list[str]:
    if not cpu:
        return []
    lines = [
        "## Per-request CPU, in process (`python -m bench.cpu`)",
        "",
        f"{cpu['requests']} requests per round through Django's WSGI handler (every middleware, X-Auth-Token, "
        f"negotiation, rendering), {cpu['rounds']} rounds; CPU time of the process per request (the wait on "
        "PostgreSQL is not in it), best and median round.",
        "",
        "| read | path | CPU ms (best) | CPU ms (median) | queries | bytes |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in cpu.get("paths", {}).items():
        lines.append(
            f"| {name} | `{row['path']}` | {row['cpu_ms_min']:.3f} | {row['cpu_ms_median']:.3f} | {row['queries']} "
            f"| {row['bytes']:,} |"
        )
    return [*lines, ""]


def _load_table(rows: list[tuple[str, dict | None]]) -> list[str]:
    lines = [
        "| measurement | p50 | p95 | p99 | requests/s | requests | errors | concurrency |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, r in rows:
        if not r:
            lines.append(f"| {label} | n/a | n/a | n/a | n/a | n/a | n/a | n/a |")
            continue
        lines.append(
            f"| {label} | {_ms(r.get('p50'))} | {_ms(r.get('p95'))} | {_ms(r.get('p99'))} | {_num(r.get('rps'))} "
            f"| {r.get('requests')} | {r.get('errors')} | {r.get('concurrency')} |"
        )
    return lines


def write_report(results: dict, out_dir: Path, history: list[dict] | None = None) -> Path:
    """Write report.md (and chart.png when matplotlib is available) into out_dir; return the report path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    chart = write_chart(results, history or [results], out_dir / "chart.png")
    lines = [f"# cmsportal benchmark: {results.get('scale', 'n/a'):,} accounts", ""]
    env = results.get("environment", {})
    lines += [
        f"Run {results.get('started', 'n/a')}; {env.get('cpus', 'n/a')} CPUs; PostgreSQL {env.get('postgres', 'n/a')}; "
        f"gunicorn {env.get('gunicorn', 'n/a')}. The load generator, both servers and PostgreSQL share this machine.",
        f"Load average (1, 5, 15 min) before the measurements: {_loadavg(env.get('load_before'))}; "
        f"after: {_loadavg(env.get('load_after'))} (above the CPU count, other work competed with this run).",
        f"API authentication used: {results.get('api_auth', 'n/a')}.",
        "",
    ]
    missing = results.get("missing") or []
    if missing:
        lines += ["## Not measured", ""] + [f"- {item}" for item in missing] + [""]

    lines += ["## Targets", "", "| what | target | measured | met |", "|---|---|---|---|"]
    for what, target, measured, met in targets(results):
        lines.append(f"| {what} | {target} | {measured} | {'n/a' if met is None else ('yes' if met else 'NO')} |")
    lines.append("")

    ds = results.get("dataset") or {}
    counts = ds.get("counts") or {}
    lines += ["## Data set", ""]
    lines.append(
        f"Database `{ds.get('database', 'n/a')}` ({'reused' if ds.get('reused') else 'built in this run'}); "
        f"exchange file {ds.get('file', 'n/a')} ({_num(ds.get('records'))} records, "
        f"{_num(ds.get('file_mb'), '{:.1f}')} MB)."
    )
    lines += ["", "| table | rows |", "|---|---|"] + [f"| {k} | {v:,} |" for k, v in counts.items()] + [""]
    gen, imp, exp = ds.get("generate"), ds.get("import"), results.get("export")
    lines += ["| step | seconds | records/s | peak memory |", "|---|---|---|---|"]
    lines.append(f"| generate (seed_demo) | {_num(_get(gen, 'seconds'), '{:.1f}')} | | |")
    lines.append(
        f"| import (cms_import) | {_num(_get(imp, 'seconds'), '{:.1f}')} | {_num(_get(imp, 'records_per_second'))} "
        f"| {_num(_get(imp, 'peak_rss_mb'), '{:.0f} MB')} |"
    )
    lines.append(
        f"| export (cms_export) | {_num(_get(exp, 'seconds'), '{:.1f}')} | {_num(_get(exp, 'records_per_second'))} "
        f"| {_num(_get(exp, 'peak_rss_mb'), '{:.0f} MB')} |"
    )
    profile = results.get("contacts_profile")
    if profile:
        pds, pexp = profile.get("dataset") or {}, profile.get("export")
        pimp = pds.get("import")
        lines.append(
            f"| import, contact-heavy profile (`{pds.get('database', 'n/a')}`, {_num(pds.get('records'))} records) "
            f"| {_num(_get(pimp, 'seconds'), '{:.1f}')} | {_num(_get(pimp, 'records_per_second'))} "
            f"| {_num(_get(pimp, 'peak_rss_mb'), '{:.0f} MB')} |"
        )
        lines.append(
            f"| export, contact-heavy profile | {_num(_get(pexp, 'seconds'), '{:.1f}')} "
            f"| {_num(_get(pexp, 'records_per_second'))} | {_num(_get(pexp, 'peak_rss_mb'), '{:.0f} MB')} |"
        )
    lines.append("")

    lines += ["## Floor vs cmsportal (single client)", ""]
    lines += _load_table(
        [
            ("account GET, floor", _get(results, "account_get", "floor")),
            ("account GET, cmsportal API", _get(results, "account_get", "api")),
            ("50-row list page, floor", _get(results, "list_page", "floor")),
            ("50-row list page, cmsportal API", _get(results, "list_page", "api")),
            ("account GET throughput, floor", _get(results, "account_get_throughput", "floor")),
            ("account GET throughput, cmsportal API", _get(results, "account_get_throughput", "api")),
        ]
    )
    lines.append("")

    lines += concurrent.report_lines(results.get("concurrent"))
    lines += _cpu_lines(results.get("cpu"))
    lines += changes.report_lines(results.get("changes"))

    lines += ["## Account list by depth", "", "Same 50-row page reached by `marker` (keyset) and by `offset`.", ""]
    rows = []
    for kind in ("marker", "offset"):
        for point in _get(results, "depth", kind) or []:
            rows.append((f"{kind} at {point['depth']:.0%}", point.get("result")))
    lines += _load_table(rows) + [""]

    lines += ["## Filtered account lists (API)", ""]
    lines += _load_table(sorted((_get(results, "filters") or {}).items())) + [""]

    for endpoint, title in (("search", "Staff search `/search/?q=`"), ("suggest", "Suggestions `/search/suggest?q=`")):
        lines += [f"## {title}", ""]
        lines += _load_table(sorted((_get(results, endpoint) or {}).items())) + [""]

    if results.get("explain"):
        lines += ["## Query plans", ""]
        for label, plan in results["explain"].items():
            lines += [f"**{label}**", "", "```", plan, "```", ""]

    if chart:
        lines += ["## Chart", "", f"![latency by depth and by data size]({chart.name})", ""]
    else:
        lines += ["## Chart", "", "Not drawn: matplotlib is not installed.", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines))
    (out_dir / f"results_{results.get('scale', 'x')}.json").write_text(json.dumps(results, indent=1, default=str))
    return path


def write_chart(results: dict, history: list[dict], path: Path) -> Path | None:
    """Latency against depth (this run) and against data size (every run stored in the out folder)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for kind, style in (("marker", "o-"), ("offset", "s--")):
        points = [(p["depth"] * 100, _get(p, "result", "p50")) for p in _get(results, "depth", kind) or []]
        points = [(x, y) for x, y in points if y is not None]
        if points:
            left.plot(*zip(*points, strict=True), style, label=f"by {kind}")
    left.set_title(f"50-row account list, {results.get('scale', 0):,} accounts")
    left.set_xlabel("depth (% of the list)")
    left.set_ylabel("p50 latency (ms)")
    left.legend()
    left.grid(alpha=0.3)

    series = {
        "account GET (API)": lambda r: _get(r, "account_get", "api", "p50"),
        "account GET (floor)": lambda r: _get(r, "account_get", "floor", "p50"),
        "list, first page": lambda r: _p50_at(r, "marker", 0.0),
        "list, 90% depth": lambda r: _p50_at(r, "marker", 0.9),
        "search, name fragment": lambda r: _get(r, "search", "name_fragment", "p50"),
    }
    runs = sorted({r["scale"]: r for r in history if r.get("scale")}.values(), key=lambda r: r["scale"])
    for label, pick in series.items():
        points = [(r["scale"], pick(r)) for r in runs if pick(r) is not None]
        if points:
            right.plot(*zip(*points, strict=True), "o-", label=label)
    right.set_xscale("log")
    right.set_title("p50 latency by data size")
    right.set_xlabel("accounts")
    right.set_ylabel("p50 latency (ms)")
    right.legend(fontsize="small")
    right.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
