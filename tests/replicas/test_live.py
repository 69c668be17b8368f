"""Read replicas for real: gunicorn serving a PostgreSQL primary and its streaming replica (tests/replicas/cluster.py).

Which server answered is read from the servers themselves: each logs every statement it runs, and every
request here carries a value of its own (a search term, a filter, a key) that appears in the statement, or
its parameters, of the server that ran it and of no other. Every wait is bounded.
"""

import json
import re
import sys
import time
from contextlib import contextmanager

import pytest
from django.conf import settings

from .cluster import BASE_DIR, Browser, app_env, marker, run, serving

pytestmark = pytest.mark.postgres

ACCOUNT = "/v1/customer_accounts/CLOUD/7700101"


def served_by(clusters, send, expect: int = 200):
    """Runs `send()` (a request) and says which server ran its statements: "replica", "primary" or "both"."""
    before = (len(clusters.primary.log_text()), len(clusters.replica.log_text()))
    status, headers, body = send()
    assert status == expect, body[:2000]
    return status, headers, body, before


def ran_on(clusters, before, text: str) -> set[str]:
    """The servers whose statement logs show `text` since `before`."""
    found = set()
    if text in clusters.primary.log_text()[before[0] :]:
        found.add("primary")
    if text in clusters.replica.log_text()[before[1] :]:
        found.add("replica")
    return found


def env(clusters, **extra):
    return {
        "DATABASE_URL": clusters.primary.url(),
        "DATABASE_REPLICA_URLS": clusters.replica.url(),
        "CMS_DB_CONNECT_TIMEOUT": "2",
        "CMS_REPLICA_CHECK_SECONDS": "0.2",
        "CMS_REPLICA_MAX_LAG_SECONDS": "30",
        **extra,
    }


def api(app, clusters) -> Browser:
    return Browser(app, headers={"X-Auth-Token": clusters.seed["token"], "Accept": "application/json"})


def staff(app, clusters) -> Browser:
    return Browser(app, cookies={settings.SESSION_COOKIE_NAME: clusters.seed["session"]})


def until(condition, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def test_the_replica_is_a_streaming_standby_of_the_primary(replicated):
    with replicated.replica.connect() as replica, replicated.primary.connect() as primary:
        assert replica.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        assert primary.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
        assert primary.execute("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'").fetchone()[0] == 1


def test_reads_of_the_api_pages_search_and_exports_are_served_by_the_replica(replicated, tmp_path):
    with serving(tmp_path, **env(replicated)) as app:
        client, browser = api(app, replicated), staff(app, replicated)
        term = marker()
        reads = {  # name: (request, the text its statement carries, the status expected)
            "API account": (lambda: client.get(ACCOUNT), "7700101", 200),
            "API list": (lambda: client.get(f"/v1/customer_accounts?domain={term}-api"), f"{term}-api", 200),
            "API metadata": (lambda: client.get(f"{ACCOUNT}/metadata/support:{term}"), f"support:{term}", 404),
            "account list page": (lambda: browser.get(f"/accounts/?q={term}-page"), f"{term}-page", 200),
            "customer list page": (lambda: browser.get(f"/customers/?q={term}-cust"), f"{term}-cust", 200),
            "account page": (lambda: browser.get("/accounts/CLOUD/7700102/"), "7700102", 200),
            "search": (lambda: browser.get(f"/search/?q={term}-search"), f"{term}-search", 200),
            "suggestions": (lambda: browser.get(f"/search/suggest?q={term}-suggest"), f"{term}-suggest", 200),
            "CSV export": (lambda: browser.get(f"/accounts/export.csv?q={term}-csv"), f"{term}-csv", 200),
        }
        for name, (send, text, expect) in reads.items():
            *_, before = served_by(replicated, send, expect)
            assert ran_on(replicated, before, text) == {"replica"}, name

        # The admin reads from the primary, whatever the method.
        *_, before = served_by(replicated, lambda: browser.get(f"/admin/accounts/account/?q={term}-admin"))
        assert ran_on(replicated, before, f"{term}-admin") == {"primary"}
        assert "Traceback" not in app.log_text()


def submit(browser: Browser, path: str, fields: dict):
    """GETs the form at `path`, then POSTs its hidden fields (CSRF token, version) with `fields`."""
    status, _, page = browser.get(path)
    assert status == 200, page[:2000]
    hidden = dict(re.findall(rb'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    data = {k.decode(): v.decode() for k, v in hidden.items()}
    return browser.post_form(path, {**data, **fields})


def change_status(browser: Browser, path: str, status: str) -> str:
    """Changes an account's status through the staff form and its confirmation; the page it redirects to."""
    code, _, page = submit(browser, path, {"status": status})
    assert code == 200 and b'name="confirm"' in page, page[:3000]
    hidden = dict(re.findall(rb'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    fields = {k.decode(): v.decode() for k, v in hidden.items()}
    code, headers, page = browser.post_form(path, {**fields, "status": status, "confirm": "yes"})
    assert code == 302, page[:3000]
    return headers["location"]


def test_a_client_that_wrote_reads_its_write_from_the_primary_and_others_read_the_replica(replicated, tmp_path):
    with serving(tmp_path, **env(replicated, CMS_READ_YOUR_WRITES_SECONDS="3")) as app:
        writer, reader = api(app, replicated), staff(app, replicated)
        key = f"support:{marker()}"
        body = json.dumps({"meta": {key: "written"}}).encode()
        status, _, content = writer.request(
            "PUT", f"{ACCOUNT}/metadata/{key}", body, headers={"Content-Type": "application/json"}
        )
        assert status == 204, content

        _, _, content, before = served_by(replicated, lambda: writer.get(f"{ACCOUNT}/metadata/{key}"))
        assert json.loads(content) == {"meta": {key: "written"}}
        assert ran_on(replicated, before, key) == {"primary"}

        replicated.wait_replayed()
        _, _, content, before = served_by(replicated, lambda: reader.get(f"{ACCOUNT}/metadata/{key}"))
        assert json.loads(content) == {"meta": {key: "written"}}
        assert ran_on(replicated, before, key) == {"replica"}

        # The window closes: the writer's reads go back to the replica.
        def writer_on_replica():
            *_, before = served_by(replicated, lambda: writer.get(f"{ACCOUNT}/metadata/{key}"))
            return ran_on(replicated, before, key) == {"replica"}

        until(writer_on_replica, 10, "the writer's reads never went back to the replica")

        # A staff form (a status change, confirmed) and the page it leads to: both on the primary.
        location = change_status(reader, "/accounts/CLOUD/7700103/status/", "Suspended")
        assert "cms_wrote" in reader.cookies
        _, _, page, before = served_by(replicated, lambda: reader.get(location))
        assert b"Suspended" in page
        assert ran_on(replicated, before, "7700103") == {"primary"}


def stop_replica(clusters):
    clusters.replica.stop("fast")


def replayed_a_transaction(clusters):
    """The lag is the age of the last transaction replayed: a replica that has replayed none since it started
    (fresh from pg_basebackup) has no age to report. Give it one."""
    with clusters.primary.connect() as primary:
        primary.execute("UPDATE accounts_account SET name = name WHERE account_id = '7700110'")
    clusters.wait_replayed()


@contextmanager
def replica_back(clusters):
    try:
        yield
    finally:
        if not clusters.replica.running():
            clusters.replica.start()
        with clusters.replica.connect() as replica:
            replica.execute("SELECT pg_wal_replay_resume()")


def test_with_the_replica_stopped_reads_are_answered_by_the_primary(replicated, tmp_path):
    # A long check interval: the first request after the stop still believes the replica healthy, fails on
    # it, and is run again on the primary.
    with serving(tmp_path, **env(replicated, CMS_REPLICA_CHECK_SECONDS="60")) as app, replica_back(replicated):
        client, browser = api(app, replicated), staff(app, replicated)
        *_, before = served_by(replicated, lambda: client.get(ACCOUNT))
        assert ran_on(replicated, before, "7700101") == {"replica"}

        stop_replica(replicated)
        term = marker()
        started = time.monotonic()
        *_, before = served_by(replicated, lambda: client.get(f"/v1/customer_accounts?domain={term}"))
        assert time.monotonic() - started < 8
        assert ran_on(replicated, before, term) == {"primary"}
        *_, before = served_by(replicated, lambda: browser.get(f"/accounts/?q={term}-page"))
        assert ran_on(replicated, before, f"{term}-page") == {"primary"}
        assert app.request("GET", "/healthz")[0] == 200
        log = app.log_text()
        # The first read after the stop failed on the replica (its one log line) and was answered again by the
        # primary; the replica was skipped from then on.
        assert log.count("Database unavailable: GET /v1/customer_accounts") == 1, log[-3000:]
        assert log.count("Replica replica1 is skipped: unreachable") == 1, log[-3000:]
        assert "Traceback" not in log, log[-3000:]


def test_a_replica_behind_the_lag_limit_is_skipped_until_it_catches_up(replicated, tmp_path):
    with serving(tmp_path, **env(replicated, CMS_REPLICA_MAX_LAG_SECONDS="1")) as app, replica_back(replicated):
        client = api(app, replicated)

        def answered_by(server: str):
            term = marker()
            *_, before = served_by(replicated, lambda: client.get(f"/v1/customer_accounts?domain={term}"))
            return ran_on(replicated, before, term) == {server}

        until(lambda: answered_by("replica"), 10, "the replica never served the reads")
        replayed_a_transaction(replicated)
        with replicated.replica.connect() as replica:
            replica.execute("SELECT pg_wal_replay_pause()")
        with replicated.primary.connect() as primary:  # WAL the replica receives but does not replay
            primary.execute("UPDATE accounts_account SET name = name || '.' WHERE account_id = '7700110'")
        until(lambda: answered_by("primary"), 15, "reads stayed on a replica that had stopped replaying")
        assert "Replica replica1 is skipped:" in app.log_text() and "behind the primary" in app.log_text()

        with replicated.replica.connect() as replica:
            replica.execute("SELECT pg_wal_replay_resume()")
        until(lambda: answered_by("replica"), 15, "reads never came back to the replica")
        # One line per change of state: skipped and back alternate, from the pause to the end. (On a loaded
        # machine a replica that replays may still cross a 1 s limit now and then: that is a change of state too.)
        states = [
            "skipped" if "is skipped:" in line else "back"
            for line in app.log_text().splitlines()
            if "Replica replica1 is skipped:" in line or "Replica replica1 is back" in line
        ]
        assert states and states[0] == "skipped" and states[-1] == "back", states
        assert all(a != b for a, b in zip(states, states[1:], strict=False)), states


def test_cms_export_reads_from_the_replica(replicated):
    replicated.wait_replayed()
    before = (len(replicated.primary.log_text()), len(replicated.replica.log_text()))
    result = run(
        [sys.executable, "manage.py", "cms_export", "-"],
        cwd=BASE_DIR,
        env=app_env(**env(replicated)),
        timeout=120,
    )
    assert '"7700101"' in result.stdout
    assert ran_on(replicated, before, "READ ONLY") == {"replica"}
    assert ran_on(replicated, before, "accounts_account") == {"replica"}


def test_healthz_reports_the_replica_ok_lagging_and_unreachable_without_its_dsn(replicated, tmp_path):
    url = replicated.replica.url().replace("postgres@", "postgres:s3cret-pw@")  # trust: never asked for
    settings_env = env(
        replicated, DATABASE_REPLICA_URLS=url, CMS_REPLICA_CHECK_SECONDS="0", CMS_REPLICA_MAX_LAG_SECONDS="1"
    )
    with serving(tmp_path, **settings_env) as app, replica_back(replicated):

        def health():
            status, _, body = app.request("GET", "/healthz")
            assert status == 200, body  # the primary answers: reads have somewhere to go
            for secret in (b"s3cret", str(replicated.replica.port).encode(), b"127.0.0.1", b"postgres"):
                assert secret not in body
            return json.loads(body)["replicas"]["replica1"]

        assert until(lambda: health()["status"] == "ok", 10, "the replica never reported ok")
        replayed_a_transaction(replicated)
        with replicated.replica.connect() as replica:
            replica.execute("SELECT pg_wal_replay_pause()")
        with replicated.primary.connect() as primary:
            primary.execute("UPDATE accounts_account SET name = name || '.' WHERE account_id = '7700109'")
        lagging = until(lambda: (found := health())["status"] == "lagging" and found, 15, "never reported lagging")
        assert lagging["lagSeconds"] >= 1  # past the limit (rounded to a tenth)
        stop_replica(replicated)
        assert health() == {"status": "unreachable"}
