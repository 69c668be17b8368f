"""Failed sign-in limits: one shared, atomic count for POST /v2.0/tokens, the staff sign-in page and the admin's."""

import os
import re
import subprocess
import sys
import threading
import uuid

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import RequestFactory, override_settings

from cmsportal.identity.models import SignInFailureCount
from cmsportal.identity.throttling import (
    DatabaseStore,
    FailedSignInThrottle,
    RedisStore,
    SignInLimited,
    client_address,
)
from tests.factories import UserFactory

from .helpers import TOKENS, fault, password_body

PASSWORD = "correct horse battery staple"
LIMITED = "Too many failed sign-ins: try again in"


class Clock:
    """An injected clock: tests move time on by hand."""

    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


def request_from(address="10.0.0.1", forwarded=None):
    meta = {"REMOTE_ADDR": address}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post("/login/", **meta)


def fail(throttle, request, username):
    """One failed attempt (the place it took is not given back)."""
    throttle.attempt(request, username)


# The counts: pair and address limits, cool-down, success gives the place back


@pytest.mark.django_db
def test_pair_limit_holds_that_name_from_that_address_only():
    throttle = FailedSignInThrottle("3/min", store=DatabaseStore(), timer=Clock())
    for _ in range(3):
        fail(throttle, request_from("10.0.0.1"), "alice")
    with pytest.raises(SignInLimited) as limited:
        throttle.attempt(request_from("10.0.0.1"), "alice")
    assert 0 < limited.value.wait <= 60
    assert str(limited.value) == f"{LIMITED} {limited.value.wait} seconds"
    # The same name from elsewhere still gets its tries: nobody can lock a real user out from afar.
    throttle.attempt(request_from("10.0.0.2"), "alice").succeeded()


@pytest.mark.django_db
def test_address_limit_holds_every_name_from_that_address():
    throttle = FailedSignInThrottle("3/min", store=DatabaseStore(), timer=Clock())
    for name in ("x1", "x2", "x3"):
        fail(throttle, request_from("10.0.0.1"), name)
    with pytest.raises(SignInLimited):
        throttle.attempt(request_from("10.0.0.1"), "someone-else")
    throttle.attempt(request_from("10.0.0.9"), "someone-else")


@pytest.mark.django_db
def test_cool_down_ends_with_the_window():
    clock = Clock()
    throttle = FailedSignInThrottle("2/min", store=DatabaseStore(), timer=clock)
    fail(throttle, request_from(), "alice")
    clock.now += 30
    fail(throttle, request_from(), "alice")
    with pytest.raises(SignInLimited) as limited:
        throttle.attempt(request_from(), "alice")
    assert limited.value.wait == 30  # the window began at the first failure
    clock.now += 29
    with pytest.raises(SignInLimited):
        throttle.attempt(request_from(), "alice")
    clock.now += 1.5
    throttle.attempt(request_from(), "alice")  # a new window: allowed again


@pytest.mark.django_db
def test_a_successful_sign_in_gives_its_place_back():
    throttle = FailedSignInThrottle("2/min", store=DatabaseStore(), timer=Clock())
    for _ in range(10):
        throttle.attempt(request_from(), "alice").succeeded()
    fail(throttle, request_from(), "alice")
    fail(throttle, request_from(), "alice")
    with pytest.raises(SignInLimited):
        throttle.attempt(request_from(), "alice")


@pytest.mark.django_db
def test_no_username_or_address_is_stored():
    throttle = FailedSignInThrottle("3/min", store=DatabaseStore(), timer=Clock())
    fail(throttle, request_from("10.7.7.7"), "alice@example.com")
    stored = repr(list(SignInFailureCount.objects.values_list("key", flat=True)))
    assert SignInFailureCount.objects.count() == 2
    assert "alice" not in stored and "10.7.7.7" not in stored


@pytest.mark.django_db
def test_purge_deletes_ended_windows_only():
    clock = Clock()
    store = DatabaseStore()
    store.purge_chance = 0  # no housekeeping on the way: this test calls it
    throttle = FailedSignInThrottle("3/min", store=store, timer=clock)
    fail(throttle, request_from("10.0.0.1"), "old")
    clock.now += 61
    fail(throttle, request_from("10.0.0.2"), "new")
    assert store.purge(clock.now, 60) == 2
    assert SignInFailureCount.objects.count() == 2


# The store is shared and the increment atomic


def _run_threads(count, work):
    """Run `work(i)` in `count` threads started together, each with its own database connection."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as error:  # noqa: BLE001 (reported by the test)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_increments_from_many_connections_are_atomic():
    store, clock = DatabaseStore(), Clock()
    rounds = 10

    def work(i):
        return [store.incr("k", clock(), 60)[0] for _ in range(rounds)]

    results = _run_threads(8, work)
    counts = sorted(count for result in results for count in result)
    # Every increment saw a different count: none was lost, none read a stale value.
    assert counts == list(range(1, 8 * rounds + 1))
    # And this connection, not any of theirs, sees the one total.
    assert SignInFailureCount.objects.get(key="k").count == 8 * rounds


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_from_one_address_get_exactly_the_limit():
    throttle = FailedSignInThrottle("5/min", store=DatabaseStore(), timer=Clock())

    def work(i):
        try:
            throttle.attempt(request_from(), f"name{i}")  # one address, sixteen names
            return "tried"
        except SignInLimited:
            return "refused"

    results = _run_threads(16, work)
    assert results.count("tried") == 5
    assert results.count("refused") == 11


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_at_one_name_get_no_more_than_the_limit():
    # Both keys are contended: an attempt refused under one key may have taken a place under the other,
    # so a race can leave fewer than five tries, never more.
    throttle = FailedSignInThrottle("5/min", store=DatabaseStore(), timer=Clock())

    def work(i):
        try:
            throttle.attempt(request_from(), "alice")
            return "tried"
        except SignInLimited:
            return "refused"

    results = _run_threads(16, work)
    assert 1 <= results.count("tried") <= 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_another_database_connection_sees_the_same_count():
    throttle = FailedSignInThrottle("3/min", store=DatabaseStore(), timer=Clock())
    for _ in range(3):
        fail(throttle, request_from(), "alice")
    # A second connection, as another gunicorn worker would hold, refuses the next attempt.
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT max(count) FROM identity_signinfailurecount")
            assert cursor.fetchone()[0] == 3
    finally:
        other.close()
    assert connection.vendor == "postgresql"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_another_process_sees_and_adds_to_the_same_count():
    """Two processes, as two gunicorn workers: one counts three failures, the other sees them and counts on."""
    store, now = DatabaseStore(), 1_000_000.0
    assert store.incr("shared", now, 60)[0] == 1
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    code = (
        "import django; django.setup(); from cmsportal.identity.throttling import DatabaseStore; "
        f"print([DatabaseStore().incr('shared', {now}, 60)[0] for _ in range(2)])"
    )
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "cmsportal.settings"}
    result = subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, "-c", code], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[2, 3]"
    assert store.incr("shared", now, 60)[0] == 4


def test_the_store_is_redis_when_configured_and_the_database_otherwise():
    from cmsportal.identity.throttling import FallbackStore, default_store

    with override_settings(CMS_SIGNIN_REDIS_URL=None):
        assert isinstance(default_store(), DatabaseStore)
    with override_settings(CMS_SIGNIN_REDIS_URL="redis://127.0.0.1:6379/4"):
        store = default_store()
        assert isinstance(store, FallbackStore) and isinstance(store.primary, RedisStore)


@pytest.mark.django_db
def test_a_redis_that_does_not_answer_falls_back_to_the_database():
    from cmsportal.identity.throttling import FallbackStore

    dead = RedisStore("redis://127.0.0.1:1/4")
    throttle = FailedSignInThrottle("1/min", store=FallbackStore(dead, DatabaseStore()), timer=Clock())
    fail(throttle, request_from(), "alice")
    with pytest.raises(SignInLimited):
        throttle.attempt(request_from(), "alice")


# The client address


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),  # no proxy trusted: the header is ignored
        (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # one proxy: the address it appended
        (2, "198.51.100.7, 203.0.113.9, 10.0.0.5", "203.0.113.9"),  # two: the outermost proxy's view
        (2, "203.0.113.9", "10.0.0.1"),  # fewer entries than proxies: only the peer is trusted
        (1, None, "10.0.0.1"),
    ],
)
def test_client_address_follows_the_trusted_proxies_setting(trusted, forwarded, expected):
    with override_settings(CMS_TRUSTED_PROXIES=trusted):
        assert client_address(request_from("10.0.0.1", forwarded)) == expected


@pytest.mark.django_db
@override_settings(CMS_TRUSTED_PROXIES=1)
def test_a_client_behind_a_trusted_proxy_is_counted_by_its_own_address():
    throttle = FailedSignInThrottle("2/min", store=DatabaseStore(), timer=Clock())
    for _ in range(2):
        fail(throttle, request_from("10.0.0.1", "203.0.113.9"), "x")
    with pytest.raises(SignInLimited):
        throttle.attempt(request_from("10.0.0.1", "198.51.100.1, 203.0.113.9"), "y")  # spoofed left part: same
    throttle.attempt(request_from("10.0.0.1", "203.0.113.10"), "y")  # another client of the proxy


# Redis


def _redis_url():
    return os.environ.get("CMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/4")


def _redis_store():
    store = RedisStore(_redis_url(), prefix=f"cms:test:{uuid.uuid4().hex}:")
    try:
        store._client().ping()
    except Exception:  # noqa: BLE001
        pytest.skip(f"Redis does not answer at {_redis_url()}")
    return store


@pytest.fixture
def redis_store():
    store = _redis_store()
    yield store
    client = store._client()
    keys = list(client.scan_iter(match=store.prefix + "*"))
    if keys:
        client.delete(*keys)


def test_redis_counts_expire_with_the_window(redis_store):
    throttle = FailedSignInThrottle("2/min", store=redis_store)
    fail(throttle, request_from(), "alice")
    fail(throttle, request_from(), "alice")
    with pytest.raises(SignInLimited) as limited:
        throttle.attempt(request_from(), "alice")
    assert 55 <= limited.value.wait <= 60
    ttl = redis_store._client().ttl(redis_store.prefix + throttle.keys(request_from(), "alice")[0])
    assert 0 < ttl <= 60
    throttle.attempt(request_from("10.0.0.2"), "alice").succeeded()


def test_redis_increments_are_atomic_and_shared(redis_store):
    # Each thread talks to Redis over its own client, as separate worker processes would.
    def work(i):
        store = RedisStore(redis_store.url, prefix=redis_store.prefix)
        store._clients = {}
        return [store.incr("k", 0, 60)[0] for _ in range(10)]

    results = _run_threads(8, work)
    assert sorted(c for r in results for c in r) == list(range(1, 81))
    assert int(redis_store._client().get(redis_store.prefix + "k")) == 80


def test_redis_gives_places_back(redis_store):
    throttle = FailedSignInThrottle("1/min", store=redis_store)
    for _ in range(3):
        throttle.attempt(request_from(), "alice").succeeded()
    fail(throttle, request_from(), "alice")
    with pytest.raises(SignInLimited):
        throttle.attempt(request_from(), "alice")


# The three ways in


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.mark.urls("tests.identity.urls")
@override_settings(CMS_SIGNIN_FAILURE_RATE="3/min")
def test_token_endpoint_answers_over_limit(api, alice):
    for _ in range(3):
        assert api.post(TOKENS, password_body("alice", "wrong"), format="json").status_code == 401
    response = api.post(TOKENS, password_body("alice", PASSWORD), format="json")
    assert response.status_code == 413
    assert fault(response)[0] == "overLimit"
    assert 0 < int(response["Retry-After"]) <= 60


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
@override_settings(CMS_SIGNIN_FAILURE_RATE="3/min")
def test_sign_in_forms_are_limited(client, alice, url):
    alice.is_staff = True
    alice.save()
    for _ in range(3):
        response = client.post(url, {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
        assert LIMITED not in response.content.decode()
    response = client.post(url, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert 0 < wait <= 60
    assert f"{LIMITED} {wait} seconds" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
@override_settings(CMS_SIGNIN_FAILURE_RATE="2/min")
def test_limited_answer_does_not_tell_whether_the_user_exists(client, alice, url):
    bodies = {}
    for name in ("alice", "nobody-by-this-name"):
        for _ in range(2):
            client.post(url, {"username": name, "password": "wrong"}, REMOTE_ADDR=f"10.1.1.{len(bodies)}")
        response = client.post(url, {"username": name, "password": "wrong"}, REMOTE_ADDR=f"10.1.1.{len(bodies)}")
        assert response.status_code == 429
        body = response.content.decode().replace(name, "NAME")
        body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "CSRF", body)
        bodies[name] = re.sub(r"try again in \d+ seconds", "try again in N seconds", body)
    assert bodies["alice"] == bodies["nobody-by-this-name"]


@override_settings(CMS_SIGNIN_FAILURE_RATE="3/min")
def test_failures_on_one_form_count_on_the_others(client, api, alice):
    client.post("/login/", {"username": "alice", "password": "wrong"})
    client.post("/admin/login/", {"username": "alice", "password": "wrong"})
    api.post(TOKENS, password_body("alice", "wrong"), format="json")
    assert client.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 429


@override_settings(CMS_SIGNIN_FAILURE_RATE="2/min")
def test_correct_sign_ins_on_the_page_are_never_limited(client, alice):
    for _ in range(5):
        response = client.post("/login/", {"username": "alice", "password": PASSWORD})
        assert response.status_code == 302
        client.logout()
