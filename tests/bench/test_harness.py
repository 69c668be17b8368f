"""The benchmark machinery at tiny scale: load generator, report writer, and the floor app's answers.

No timing is asserted: the figures themselves belong to `python -m bench`.
"""

import io
import json
import os
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.db import connection

from bench import concurrent, floor
from bench.loadgen import percentile, run_load
from bench.report import targets, write_report
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    AddressFactory,
    ContactFactory,
    EmailAddressFactory,
    MetadataFactory,
    NamespaceFactory,
    PhoneNumberFactory,
    StaffFactory,
    StatusChangeFactory,
)

# --- load generator ------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass


@pytest.fixture
def tiny_server():
    def app(environ, start_response):
        status = "200 OK" if environ["PATH_INFO"] == "/ok" else "404 Not Found"
        start_response(status, [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()


def test_load_generator_counts_requests_and_errors(tiny_server):
    result = run_load(tiny_server, ["/ok", "/ok", "/missing"], requests=30, concurrency=3)
    assert result.requests == 30
    assert result.errors == 10
    assert result.statuses == {"200": 20, "404": 10}
    assert result.p50 is not None and result.p50 <= result.p95 <= result.p99
    assert result.rps > 0


def test_load_generator_refuses_other_hosts():
    with pytest.raises(ValueError):
        run_load(80, ["/"], requests=1, host="example.com")


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile([], 0.5) is None


# --- report --------------------------------------------------------------------------------------


def _load(p50, rps=500.0, errors=0):
    return {"requests": 100, "errors": errors, "p50": p50, "p95": p50 * 2, "p99": p50 * 3, "rps": rps, "concurrency": 2}


def _synthetic_results():
    return {
        "scale": 1000,
        "started": "2026-01-01T00:00:00+00:00",
        "environment": {"cpus": 2, "postgres": "15", "gunicorn": "x"},
        "api_auth": "X-Auth-Token",
        "missing": ["export: cms_export is not installed"],
        "dataset": {
            "database": "cms_bench_1000",
            "records": 17000,
            "file_mb": 1.0,
            "counts": {"accounts": 1000},
            "generate": {"seconds": 1.0},
            "import": {"seconds": 0.2, "records_per_second": 85000.0, "peak_rss_mb": 90.0},
        },
        "account_get": {"floor": _load(1.0), "api": _load(2.5)},
        "list_page": {"floor": _load(2.0), "api": _load(8.0)},
        "account_get_throughput": {"floor": _load(3.0, rps=3000), "api": _load(6.0, rps=1200)},
        "depth": {
            "marker": [{"depth": 0.0, "result": _load(5.0)}, {"depth": 0.9, "result": _load(5.5)}],
            "offset": [{"depth": 0.0, "result": _load(5.0)}, {"depth": 0.9, "result": _load(50.0)}],
        },
        "filters": {"domain, first page": _load(4.0)},
        "search": {"rcn": _load(3.0), "name_fragment": _load(30.0)},
        "suggest": {"rcn": _load(6.0), "name_fragment": _load(10.0, errors=1)},
        "staff_pages": {"account": _load(12.0)},
        "explain": {"first list page": "Limit\n  -> Index Scan using account_type_id_uniq"},
    }


def test_targets_are_judged_from_the_figures():
    met = {what: ok for what, _, _, ok in targets(_synthetic_results())}
    assert met["Account GET p50 vs floor"] is True  # 2.5x
    assert met["50-row list page p50 vs floor"] is False  # 4x
    assert met["Account GETs per second"] is True
    assert met["List page at 90% depth vs first page (marker)"] is True  # 1.1x
    assert met["search `rcn` p50"] is True  # 3 ms < 5 ms
    assert met["search `rcn` p95"] is True  # 6 ms < 50 ms: identifiers are held to both
    assert met["suggest `rcn` p50"] is False  # 6 ms
    assert met["suggest `rcn` p95"] is True  # 12 ms
    assert "search `name_fragment` p50" not in met  # fragments: p95 only
    assert met["search `name_fragment` p95"] is False  # 60 ms
    assert met["suggest `name_fragment` p95"] is False  # 20 ms but an error
    assert met["Staff account page p50 (signed in)"] is True  # 12 ms < 15 ms
    assert met["Import rate"] is True
    assert met["Export rate and memory"] is None  # not measured: never claimed
    slow = _synthetic_results()
    slow["staff_pages"]["account"] = _load(16.0)
    assert {what: ok for what, _, _, ok in targets(slow)}["Staff account page p50 (signed in)"] is False
    del slow["staff_pages"]
    assert {what: ok for what, _, _, ok in targets(slow)}["Staff account page p50 (signed in)"] is None


def test_report_has_every_section(tmp_path):
    path = write_report(_synthetic_results(), tmp_path)
    text = path.read_text()
    for heading in (
        "## Not measured",
        "## Targets",
        "## Data set",
        "## Floor vs cmsportal",
        "## Account list by depth",
        "## Filtered account lists (API)",
        "## Staff search",
        "## Suggestions",
        "## Query plans",
        "## Chart",
    ):
        assert heading in text
    assert "| 50-row list page p50 vs floor | ≤ 3x floor | 4.00x (8.00 ms vs 2.00 ms) | NO |" in text
    assert "export: cms_export is not installed" in text
    assert json.loads((tmp_path / "results_1000.json").read_text())["scale"] == 1000
    pytest.importorskip("matplotlib")
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")


# --- floor app -----------------------------------------------------------------------------------


def _call(path: str, query: str = "") -> tuple[str, dict]:
    captured = {}

    def start_response(status, headers):
        captured["status"] = status

    environ = {
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
    }
    body = b"".join(floor.application(environ, start_response))
    return captured["status"], json.loads(body)


@pytest.fixture
def floor_database(monkeypatch):
    settings = connection.settings_dict
    url = f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"
    monkeypatch.setenv("DATABASE_URL", url)
    yield
    conn = getattr(floor._local, "conn", None)
    if conn is not None:
        conn.close()
    floor._local.conn = None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_floor_answers_the_same_account_data_as_the_api(client, django_user_model, floor_database):
    # A superuser holds the global view permission without the permission rows a flushed database may lack.
    viewer = django_user_model.objects.create(username="bench_viewer", is_superuser=True, is_staff=True)
    account = AccountFactory(account_id="440369", nickname="prod", parent_account_number=12)
    AccountFactory(account_id="440370")
    client.force_login(viewer)

    api = client.get(f"/v1/customer_accounts/CLOUD/{account.account_id}", HTTP_ACCEPT="application/json")
    status, data = _call(f"/floor/customer_accounts/CLOUD/{account.account_id}")
    assert api.status_code == 200 and status == "200 OK"
    assert data == api.json()

    api_page = client.get("/v1/customer_accounts?marker=CLOUD:440369&limit=50", HTTP_ACCEPT="application/json")
    status, page = _call("/floor/customer_accounts", "marker=CLOUD:440369&limit=50")
    assert api_page.status_code == 200 and status == "200 OK"
    assert page["customerAccount"] == api_page.json()["customerAccount"]
    assert [item["id"] for item in page["customerAccount"]] == ["440369", "440370"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_floor_answers_the_same_data_as_the_api_under_an_account(client, floor_database):
    from datetime import timedelta

    from cmsportal import dates

    # Staff with the global view permission, in no group: read-restricted metadata is hidden, as in the floor.
    client.force_login(StaffFactory(username="bench_staff_viewer"))
    account = AccountFactory(account_id="550001")
    other = AccountFactory(account_id="550002", customer=account.customer)
    # Two contacts on the account (one also on another account, with other roles there), one elsewhere.
    busy = ContactFactory(customer=account.customer, contact_number="RPN-900-000-002", title="Dr")
    plain = ContactFactory(customer=account.customer, contact_number="RPN-900-000-001")
    AccountContactFactory(account=account, contact=busy, roles=["PRIMARY", "BILLING"])
    AccountContactFactory(account=other, contact=busy, roles=["TECHNICAL"])
    AccountContactFactory(account=account, contact=plain)
    AccountContactFactory(account=other, contact=ContactFactory(customer=account.customer))
    AddressFactory(contact=busy)
    AddressFactory(contact=busy, primary=False, zipcode=None)
    EmailAddressFactory(contact=busy)
    EmailAddressFactory(contact=busy, primary=False)
    PhoneNumberFactory(contact=busy, sms_verify=True)
    NamespaceFactory(name="risk", access="READ_RESTRICTED")
    MetadataFactory(account=account, key="support:team", value="East")
    MetadataFactory(account=account, key="billing:cycle", value="monthly")
    MetadataFactory(account=account, key="risk:score", value="0.4")
    MetadataFactory(account=other, key="support:team", value="West")
    now = dates.now()
    for days, status in ((3, "Active"), (2, "Suspended"), (1, "Active")):
        StatusChangeFactory(account=account, date=now - timedelta(days=days), status=status, fraud_status="ACCEPT")
    StatusChangeFactory(account=account, date=now - timedelta(days=2), status="Closed")  # a tie: newest id first

    base = f"/customer_accounts/CLOUD/{account.account_id}"
    for rest in ("/contacts", "/contacts/RPN-900-000-002", "/contacts/RPN-900-000-001", "/metadata", "/status_history"):
        api = client.get(f"/v1{base}{rest}", HTTP_ACCEPT="application/json")
        status, data = _call(f"/floor{base}{rest}")
        assert api.status_code == 200 and status == "200 OK", rest
        assert data == api.json(), rest
    assert [c["contactNumber"] for c in _call(f"/floor{base}/contacts")[1]["contact"]] == [
        "RPN-900-000-001",
        "RPN-900-000-002",
    ]
    assert _call(f"/floor{base}/metadata")[1] == {"metadata": {"billing:cycle": "monthly", "support:team": "East"}}
    # Pages: the next link of the status history and of the contacts, like the API's.
    for rest in ("/status_history?limit=2", "/contacts?limit=1"):
        path, _, query = rest.partition("?")
        api = client.get(f"/v1{base}{rest}", HTTP_ACCEPT="application/json")
        status, data = _call(f"/floor{base}{path}", query)
        assert data == api.json(), rest
        assert [link["rel"] for link in data["link"]] == ["next"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_floor_unknown_account_is_404(floor_database):
    status, _ = _call("/floor/customer_accounts/CLOUD/nope")
    assert status == "404 Not Found"


def test_floor_formats_dates_like_the_api():
    from datetime import UTC, datetime

    from cmsportal import dates

    moment = datetime(2015, 4, 21, 18, 0, 0, 123456, tzinfo=UTC)
    assert floor.format_date(moment) == dates.format_date(moment) == "2015-04-21T18:00:00.123Z"


def test_bench_is_a_runnable_package():
    assert os.path.exists(os.path.join(os.path.dirname(floor.__file__), "__main__.py"))


@pytest.mark.django_db
def test_bench_staff_session_signs_in_to_the_staff_pages(client, capsys):
    from bench.__main__ import BENCH_USER, USER_SCRIPT

    exec(USER_SCRIPT % {"username": BENCH_USER})  # noqa: S102 (the harness's own script, run as manage.py shell would)
    session = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["session"]
    client.cookies["sessionid"] = session
    assert client.get("/search/", {"q": "x"}).status_code == 200
    account = AccountFactory()
    assert client.get(f"/accounts/{account.type}/{account.account_id}/").status_code == 200  # the page measured


# --- concurrent load (wrk), worker memory, per-request CPU ------------------------------------------------


def _wrk_line(requests=1000, p50=2000):
    return (
        f'WRKJSON {{"requests": {requests}, "duration_us": 2000000, "p50_us": {p50}, "p90_us": 4000, "p99_us": 9000, '
        '"mean_us": 2500.5, "connect": 0, "read": 1, "write": 0, "status": 3, "timeout": 0}'
    )


def test_wrk_output_is_parsed():
    result = concurrent.parse_wrk("Running 2s test\n" + _wrk_line() + "\n", connections=8)
    assert result["rps"] == 500.0 and result["p50"] == 2.0 and result["p99"] == 9.0
    assert result["errors"] == 4 and result["non_2xx"] == 3 and result["concurrency"] == 8
    with pytest.raises(RuntimeError):
        concurrent.parse_wrk("wrk: connection refused", connections=8)


def test_rounds_are_summarized_by_their_medians_and_ratios():
    def run(p50, rps):
        return {"p50": p50, "p90": p50 * 2, "p99": p50 * 3, "rps": rps, "errors": 0}

    summary = concurrent.summarize(
        {"floor": [run(2.0, 1000), run(3.0, 900), run(2.5, 950)], "api": [run(4.0, 500), run(6.0, 400), run(5.0, 450)]}
    )
    assert summary["floor"]["p50"] == 2.5 and summary["api"]["p50"] == 5.0
    assert summary["p50_ratio"] == 2.0
    assert summary["rps_ratio"] == pytest.approx(450 / 950)
    met = {what: ok for what, _, _, ok in concurrent.targets({"reads": {"account_get": summary}})}
    assert met["account_get under 8 clients: p50 vs floor"] is True  # 2.0x
    assert met["account_get under 8 clients: req/s vs floor"] is False  # 0.47x
    assert met["contacts under 8 clients: p50 vs floor"] is None  # not measured: never claimed
    assert met["gunicorn worker peak RSS under load"] is None


@pytest.mark.skipif(not concurrent.wrk_available(), reason="wrk is not installed")
def test_wrk_runs_random_paths_and_counts_errors(tiny_server):
    result = concurrent.run_wrk(tiny_server, ["/ok", "/missing"], seconds=1, connections=2, threads=1)
    assert result["requests"] > 10
    assert 0 < result["non_2xx"] < result["requests"]  # both paths were asked for
    assert result["p50"] > 0


def test_worker_memory_is_sampled_from_the_masters_children():
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(30 << 20); time.sleep(30)"])
    try:
        import time

        time.sleep(0.5)
        with concurrent.RssSampler(os.getpid(), interval=0.05) as sampler:
            time.sleep(0.2)
        assert child.pid in concurrent.worker_pids(os.getpid())
        assert sampler.as_dict()["peak_mib"] >= 30
    finally:
        child.kill()
        child.wait()


def test_report_has_the_concurrent_and_cpu_sections(tmp_path):
    results = _synthetic_results()
    runs = {"floor": [{"p50": 2.0, "p90": 3.0, "p99": 4.0, "rps": 1000.0, "errors": 0}]}
    runs["api"] = [{"p50": 3.0, "p90": 5.0, "p99": 9.0, "rps": 700.0, "errors": 0}]
    results["concurrent"] = {
        "threads": 2,
        "connections": 8,
        "seconds": 10.0,
        "rounds": 1,
        "reads": {"metadata": {"runs": runs, **concurrent.summarize(runs)}},
        "worker_rss": {"api": {"peak_mib": 75.0}, "floor": {"peak_mib": 30.0}},
        "flames": {"metadata": "flames/metadata.svg"},
    }
    results["cpu"] = {
        "requests": 10,
        "rounds": 2,
        "paths": {"metadata": {"path": "/v1/x", "cpu_ms_min": 1.0, "cpu_ms_median": 1.1, "queries": 3, "bytes": 9}},
    }
    results["contacts_profile"] = {
        "dataset": {"database": "cms_bench_contacts_1000", "records": 9000, "import": {"records_per_second": 60000.0}},
        "export": {"seconds": 0.1, "records_per_second": 90000.0, "peak_rss_mb": 80.0},
    }
    text = write_report(results, tmp_path).read_text()
    assert "| metadata | 2.00 ms | 3.00 ms | 1.50x | 1,000 | 700 | 0.70x | 9.00 ms | 0 |" in text
    assert "| metadata under 8 clients: p50 vs floor | ≤ 2x | 1.50x | yes |" in text
    assert "| gunicorn worker peak RSS under load | < 80 MiB | 75.0 MiB | yes |" in text
    assert "[metadata](flames/metadata.svg)" in text
    assert "| metadata | `/v1/x` | 1.000 | 1.100 | 3 | 9 |" in text
    assert "| Export rate and memory, contact-heavy profile | ≥ 100,000 records/s in < 200 MB |" in text


@pytest.mark.django_db
def test_cpu_measurement_runs_every_hot_read(settings):
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from bench import cpu

    settings.ALLOWED_HOSTS = ["testserver"]
    account = AccountFactory(account_id="660001")
    contact = ContactFactory(customer=account.customer)
    AccountContactFactory(account=account, contact=contact)
    MetadataFactory(account=account, key="support:team", value="East")
    StatusChangeFactory(account=account)
    # As the test client does: these handlers would close the test's connection, inside its transaction.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        results = cpu.measure(requests=2, rounds=2)
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)
    assert results["sample"] == {"t": "CLOUD", "i": "660001", "rpn": contact.contact_number}
    assert set(results["paths"]) == {name for name, _ in cpu.HOT_PATHS}
    for row in results["paths"].values():
        # At least the read itself (authentication asks nothing when the token is remembered).
        assert row["cpu_ms_min"] > 0 and row["queries"] >= 1 and row["bytes"] > 0
