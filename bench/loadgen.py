"""A small closed-loop HTTP load generator: keep-alive connections, one thread each, 127.0.0.1 only.

Every measurement is bounded both in requests and in seconds. Latency is measured per request from
sending it to having read the whole body; requests/s is completed requests over wall time.
"""

import http.client
import itertools
import math
import threading
import time
from dataclasses import asdict, dataclass, field

ALLOWED_HOSTS = ("127.0.0.1", "localhost")


@dataclass
class LoadResult:
    """What one measurement saw. Latencies in milliseconds."""

    requests: int = 0
    errors: int = 0
    statuses: dict = field(default_factory=dict)
    seconds: float = 0.0
    rps: float = 0.0
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    mean: float | None = None
    concurrency: int = 1
    truncated_by_time: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values))))
    return sorted_values[rank - 1]


def run_load(
    port: int,
    paths: list[str],
    *,
    requests: int,
    concurrency: int = 1,
    headers: dict | None = None,
    max_seconds: float = 60.0,
    warmup: int = 0,
    host: str = "127.0.0.1",
    expect: tuple[int, ...] = (200,),
) -> LoadResult:
    """GET `paths` (cycled) `requests` times over `concurrency` keep-alive connections.

    A response whose status is not in `expect`, or a connection failure, counts as an error.
    """
    if host not in ALLOWED_HOSTS:
        raise ValueError("the load generator only talks to this machine")
    if not paths:
        raise ValueError("no paths to request")
    headers = dict(headers or {})
    headers.setdefault("Connection", "keep-alive")
    if warmup:
        run_load(
            port, paths, requests=warmup, concurrency=concurrency, headers=headers, max_seconds=max_seconds, host=host
        )

    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = 0
    deadline = time.perf_counter() + max_seconds
    truncated = False

    def worker():
        nonlocal errors, truncated
        conn = http.client.HTTPConnection(host, port, timeout=30)
        mine: list[float] = []
        my_statuses: dict[str, int] = {}
        my_errors = 0
        while True:
            i = next(counter)
            if i >= requests:
                break
            if time.perf_counter() > deadline:
                truncated = True
                break
            path = paths[i % len(paths)]
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                status = str(response.status)
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                status = "connection error"
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
            mine.append((time.perf_counter() - start) * 1000.0)
            my_statuses[status] = my_statuses.get(status, 0) + 1
            if not status.isdigit() or int(status) not in expect:
                my_errors += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += my_errors
            for key, value in my_statuses.items():
                statuses[key] = statuses.get(key, 0) + value

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, concurrency))]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    latencies.sort()
    done = len(latencies)
    return LoadResult(
        requests=done,
        errors=errors,
        statuses=statuses,
        seconds=round(seconds, 3),
        rps=round(done / seconds, 1) if seconds > 0 else 0.0,
        p50=percentile(latencies, 0.50),
        p95=percentile(latencies, 0.95),
        p99=percentile(latencies, 0.99),
        mean=sum(latencies) / done if done else None,
        concurrency=concurrency,
        truncated_by_time=truncated,
    )
