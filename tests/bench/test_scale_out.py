"""The scale-out parts of the benchmark: the replica comparison's report, the CPU accounting behind the capacity
figures (bench/capacity.py), and the in-process timer of statements. No timing is asserted."""

import subprocess
import sys
import time

import pytest
from django.db import connection

from bench.capacity import StatementTimer, group_pids, process_cpu_seconds
from bench.replica import ENDPOINTS, write_replica_report


def _mode(p50: float, rps: float, cpu: float) -> dict:
    return {
        endpoint: {"p50_ms": p50, "p95_ms": p50 * 2, "rps": rps, "cpu_ms": cpu, "errors": 0} for endpoint in ENDPOINTS
    }


def test_the_replica_report_gives_each_endpoint_its_ratio_and_says_whether_it_is_within_five_percent(tmp_path):
    results = {
        "scale": 1000,
        "rounds": 2,
        "requests_per_round": 10,
        "modes": {"primary-only": _mode(10.0, 100.0, 2.0), "replica": _mode(10.4, 98.0, 2.04)},
        "ratio": {endpoint: {"cpu": 1.02, "p50": 1.04, "rps": 0.98} for endpoint in ENDPOINTS},
        "replica_commits": 70,
        "sent_to_replica_server": 60,
    }
    results["modes"]["replica"]["search"].update(p50_ms=12.0, cpu_ms=2.2)
    results["ratio"]["search"] = {"cpu": 1.1, "p50": 1.2, "rps": 0.9}
    text = write_replica_report(results, tmp_path).read_text()
    assert "| account GET | 2.00 | 2.04 | 1.020 | yes | 10.00 | 10.40 | 1.040 | 100 | 98 | 0.980 |" in text
    assert "| search | 2.00 | 2.20 | 1.100 | no | 10.00 | 12.00 | 1.200 | 100 | 98 | 0.900 |" in text
    assert "70 (requests sent to the replica-mode server: 60" in text


def test_the_cpu_of_a_process_group_is_read_from_proc():
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\ntime.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", burn], start_new_session=True)  # noqa: S603
    try:
        deadline = time.monotonic() + 20
        while process_cpu_seconds(group_pids(child.pid)) < 0.3:
            assert time.monotonic() < deadline, "the child's CPU never showed"
            time.sleep(0.05)
        assert group_pids(child.pid) == [child.pid]
    finally:
        child.kill()
        child.wait()
    assert process_cpu_seconds([child.pid]) == 0  # gone: nothing to count


@pytest.mark.django_db
def test_the_statement_timer_counts_every_statement_and_its_time():
    timer = StatementTimer()
    with connection.execute_wrapper(timer), connection.cursor() as cursor:
        for _ in range(3):
            cursor.execute("SELECT 1")
    assert timer.count == 3
    assert timer.seconds > 0
