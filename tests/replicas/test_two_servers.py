"""Two stateless application servers: two gunicorn instances on the same PostgreSQL (a primary and its streaming
replica, tests/replicas/cluster.py) and the same Redis (database 9), as behind a load balancer.

Whatever one instance learns, the other knows at once: tokens and their revocation, staff sessions, the
failed sign-in counts, and what was written (no cache, no replica lag serves the writer stale data).
Redis unreachable: skipped, with the reason.
"""

import json
import re
import time

import pytest
from django.conf import settings

from .cluster import Browser, marker, serving
from .test_live import ACCOUNT, change_status, env, replica_back

pytestmark = pytest.mark.postgres

REDIS_URL = "redis://127.0.0.1:6379/9"
PASSWORD = "correct horse battery staple"  # tests/factories.py UserFactory's
RATE = 4  # failed sign-ins allowed per client address and per (username, address), across both instances


@pytest.fixture
def redis9():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis at {REDIS_URL}: {exc}")
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def two(replicated, redis9, tmp_path):
    """Instances A and B: 1 worker x 2 threads each, reads on the replica, Redis db 9, small sign-in limits."""
    shared = env(
        replicated,
        REDIS_URL=REDIS_URL,
        GUNICORN_THREADS="2",
        CMS_TOKEN_FAILURE_RATE=f"{RATE}/min",
        CMS_SIGNIN_FAILURE_RATE=f"{RATE}/min",
        CMS_TRUSTED_PROXIES="1",  # each check below is its own client address (X-Forwarded-For)
        CMS_READ_YOUR_WRITES_SECONDS="30",
        CMS_REPLICA_MAX_LAG_SECONDS="3600",  # a paused replica stays in use: its stale answers would show
    )
    started = time.monotonic()
    with serving(tmp_path, **shared) as a, serving(tmp_path, **shared) as b:
        yield a, b
        for app in (a, b):
            assert "Traceback" not in app.log_text(), app.log_text()[-3000:]
    assert time.monotonic() - started < 60, "two servers took a minute"


def tokens(app, username: str, password: str, address: str):
    body = json.dumps({"auth": {"passwordCredentials": {"username": username, "password": password}}}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json", "X-Forwarded-For": address}
    return app.request("POST", "/v2.0/tokens", body, headers)


def api(app, token: str) -> Browser:
    return Browser(app, headers={"X-Auth-Token": token, "Accept": "application/json"})


def test_a_token_issued_by_one_works_on_the_other_and_its_revocation_at_once(two):
    a, b = two
    status, _, body = tokens(a, "replica-staff", PASSWORD, "10.9.0.1")
    assert status == 200, body
    token = json.loads(body)["access"]["token"]["id"]
    assert api(b, token).get(ACCOUNT)[0] == 200  # issued a moment ago: the replica may not have it yet

    other = api(b, token)  # revoked on B ...
    status, _, body = other.request("DELETE", f"/v2.0/tokens/{token}")
    assert status == 204, body
    for app in (a, b):  # ... refused on A (and B) at once
        status, _, body = api(app, token).get(ACCOUNT)
        assert status == 401, body


def test_a_staff_session_survives_switching_instance(two, replicated):
    a, b = two
    browser = Browser(a, headers={"X-Forwarded-For": "10.9.0.2"})
    status, _, page = browser.get("/login/")
    assert status == 200
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    status, headers, page = browser.post_form(
        "/login/", {"csrfmiddlewaretoken": csrf, "username": "replica-staff", "password": PASSWORD}
    )
    assert status == 302, page[:2000]
    assert settings.SESSION_COOKIE_NAME in browser.cookies
    browser.app = b
    status, _, page = browser.get("/accounts/CLOUD/7700104/")
    assert status == 200, page[:2000]
    assert b"7700104" in page
    assert b"replica-staff" in page  # signed in as the user, not redirected to sign in
    browser.app = a
    assert browser.get("/accounts/CLOUD/7700104/")[0] == 200


def test_failed_token_requests_count_across_both_instances(two):
    a, b = two
    address = "10.9.0.3"
    for app in (a, b) * (RATE // 2):
        status, _, body = tokens(app, "replica-staff", "wrong", address)
        assert status == 401, body
    for app in (a, b):  # the limit tripped for this address on both: the API's 413 overLimit
        status, headers, body = tokens(app, "replica-staff", "wrong", address)
        assert status == 413 and json.loads(body)["overLimit"]["code"] == 413, body
        assert int(dict((k.lower(), v) for k, v in headers)["retry-after"]) > 0
        assert tokens(app, "replica-staff", PASSWORD, address)[0] == 413  # even the right password, meanwhile
    assert tokens(a, "replica-staff", PASSWORD, "10.9.0.4")[0] == 200  # another address is not held back


def test_failed_staff_sign_ins_count_across_both_instances(two):
    a, b = two
    address = "10.9.0.5"

    def sign_in(app, password: str):
        browser = Browser(app, headers={"X-Forwarded-For": address})
        page = browser.get("/login/")[2]
        csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        return browser.post_form(
            "/login/", {"csrfmiddlewaretoken": csrf, "username": "replica-staff", "password": password}
        )[0]

    for app in (a, b) * (RATE // 2):
        assert sign_in(app, "wrong") == 200  # the form again, with its error
    assert sign_in(a, "wrong") == 429
    assert sign_in(b, PASSWORD) == 429


def test_a_write_on_one_instance_is_read_at_once_on_the_other(two, replicated):
    a, b = two
    status, _, body = tokens(a, "replica-staff", PASSWORD, "10.9.0.6")
    token = json.loads(body)["access"]["token"]["id"]
    on_a, on_b = api(a, token), api(b, token)
    replicated.wait_replayed()
    with replica_back(replicated):
        # The replica stops replaying: from here on, whatever it answers is stale. The writers must not see it.
        with replicated.replica.connect() as replica:
            replica.execute("SELECT pg_wal_replay_pause()")
        written_on_a_read_on_b(a, b, on_a, on_b, replicated)


def written_on_a_read_on_b(a, b, on_a, on_b, replicated):
    bystander = api(b, replicated.seed["token"])  # another client, which wrote nothing: reads the replica

    # A metadata PUT on A; B reads it at once, and a copy B handed out before is no longer current.
    key = f"support:{marker()}"
    path = f"{ACCOUNT}/metadata/{key}"
    assert (
        on_a.request("PUT", path, json.dumps({"meta": {key: "one"}}).encode(), {"Content-Type": "application/json"})[0]
        == 204
    )
    status, headers, body = on_b.get(path)
    assert status == 200 and json.loads(body) == {"meta": {key: "one"}}
    etag = headers["etag"]
    assert on_b.get(path, **{"If-None-Match": etag})[0] == 304
    assert (
        on_a.request("PUT", path, json.dumps({"meta": {key: "two"}}).encode(), {"Content-Type": "application/json"})[0]
        == 204
    )
    status, headers, body = on_b.get(path, **{"If-None-Match": etag})
    assert status == 200, body
    assert json.loads(body) == {"meta": {key: "two"}} and headers["etag"] != etag
    assert bystander.get(path)[0] == 404  # the replica is stale indeed: only the routing kept the writer off it

    # A status change through the staff form on A: B's API and B's pages show it at once.
    account = "/v1/customer_accounts/CLOUD/7700105"
    status, headers, body = on_b.get(account)
    assert status == 200 and json.loads(body)["status"] != "Suspended"
    etag = headers["etag"]
    browser = Browser(a, cookies={settings.SESSION_COOKIE_NAME: replicated.seed["session"]})
    location = change_status(browser, "/accounts/CLOUD/7700105/status/", "Suspended")
    browser.app = b  # the same staff user, on B: the API (signed in by the session) and the pages
    status, headers, body = browser.get(account, **{"If-None-Match": etag, "Accept": "application/json"})
    assert status == 200, body
    assert json.loads(body)["status"] == "Suspended"
    status, _, page = browser.get(location)
    assert status == 200 and b"Suspended" in page
