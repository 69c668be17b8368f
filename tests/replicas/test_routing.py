"""Where reads go (cmsportal/replicas.py), in-process: the router and the middleware's decisions, and the settings
that make replicas and pools. The replicas' health is stubbed here; tests/replicas/test_live.py uses real ones."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection, router, transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory, override_settings
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import Account
from cmsportal import replicas
from cmsportal.identity import authentication

ALL_METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]


@pytest.fixture
def one_replica(monkeypatch):
    """Settings with one replica, `replica1`, healthy unless the test says otherwise (`healthy["replica1"]`)."""
    healthy = {"replica1": True}
    monkeypatch.setattr(replicas.health, "is_healthy", lambda alias: healthy[alias])
    cache.clear()
    with override_settings(
        CMS_REPLICAS=["replica1"],
        DATABASE_ROUTERS=["cmsportal.replicas.ReplicaRouter"],
        CMS_READ_YOUR_WRITES_SECONDS=5,
    ):
        yield healthy
    cache.clear()


class Recorder:
    """A view behind ReplicaMiddleware that records where its reads go."""

    def __init__(self, status: int = 200):
        self.status = status
        self.seen: list[str] = []

    def __call__(self, request):
        self.seen.append(replicas.read_alias())
        return HttpResponse(status=self.status)


def call(method: str, path: str = "/v1/customer_accounts", status: int = 200, **headers) -> tuple[str, HttpResponse]:
    view = Recorder(status)
    request = RequestFactory().generic(method, path, **headers)
    response = replicas.ReplicaMiddleware(view)(request)
    return view.seen[-1], response


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize(
    "path", ["/v1/customer_accounts", "/accounts/", "/search/suggest", "/accounts/export.csv", "/admin/"]
)
def test_reads_go_to_the_replica_only_for_safe_requests_outside_the_admin(one_replica, method, path):
    alias, _ = call(method, path)
    expected = "replica1" if method in replicas.SAFE_METHODS and not path.startswith("/admin/") else "default"
    assert alias == expected


@pytest.mark.parametrize("method", ALL_METHODS)
def test_writes_and_migrations_go_to_the_primary(one_replica, method):
    view = Recorder()

    def writes(request):
        view(request)
        return HttpResponse(router.db_for_write(Account))

    response = replicas.ReplicaMiddleware(writes)(RequestFactory().generic(method, "/accounts/"))
    assert response.content == b"default"
    route = replicas.ReplicaRouter()
    assert route.allow_migrate("default", "accounts") is True
    assert route.allow_migrate("replica1", "accounts") is False


def test_objects_from_the_primary_and_a_replica_may_be_related(one_replica):
    a, b, c = Account(), Account(), Account()
    a._state.db, b._state.db, c._state.db = "default", "replica1", "elsewhere"
    route = replicas.ReplicaRouter()
    assert route.allow_relation(a, b) is True and route.allow_relation(b, a) is True
    assert route.allow_relation(a, c) is None


def test_outside_a_request_reads_go_to_the_primary_unless_asked(one_replica):
    assert replicas.read_alias() == "default"
    assert router.db_for_read(Account) == "default"
    with replicas.reading_from_replicas():
        assert router.db_for_read(Account) == "replica1"
        with replicas.reading_from_primary():
            assert router.db_for_read(Account) == "default"
        assert router.db_for_read(Account) == "replica1"
    assert router.db_for_read(Account) == "default"


@pytest.mark.django_db(transaction=True)  # no transaction around the test: only the one it opens
def test_reads_inside_a_transaction_on_the_primary_go_to_the_primary(one_replica):
    with replicas.reading_from_replicas():
        assert not connection.in_atomic_block
        assert router.db_for_read(Account) == "replica1"
        with transaction.atomic():
            assert connection.in_atomic_block
            assert router.db_for_read(Account) == "default"


def test_with_no_healthy_replica_reads_go_to_the_primary_for_the_whole_request(one_replica):
    one_replica["replica1"] = False
    assert call("GET")[0] == "default"
    one_replica["replica1"] = True
    seen = []

    def view(request):
        seen.append(replicas.read_alias())
        one_replica["replica1"] = False  # it goes away mid-request: this request keeps its replica
        seen.append(replicas.read_alias())
        return HttpResponse()

    replicas.ReplicaMiddleware(view)(RequestFactory().get("/accounts/"))
    assert seen == ["replica1", "replica1"]


def test_no_replica_configured_means_everything_on_the_primary():
    assert settings.CMS_REPLICAS == [] or os.environ.get("DATABASE_REPLICA_URLS")
    with override_settings(CMS_REPLICAS=[]):
        assert call("GET")[0] == "default"


# --- read-your-writes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_token_that_wrote_reads_from_the_primary_and_other_tokens_do_not(one_replica, method):
    _, response = call(method, status=204, HTTP_X_AUTH_TOKEN="token-a")
    assert call("GET", HTTP_X_AUTH_TOKEN="token-a")[0] == "default"
    assert call("GET", HTTP_X_AUTH_TOKEN="token-b")[0] == "replica1"
    assert call("GET")[0] == "replica1"


@pytest.mark.parametrize("status", [400, 403, 404, 409, 412, 503])
def test_a_refused_write_does_not_pin_the_client(one_replica, status):
    _, response = call("PUT", status=status, HTTP_X_AUTH_TOKEN="token-a")
    assert replicas.COOKIE not in response.cookies
    assert call("GET", HTTP_X_AUTH_TOKEN="token-a")[0] == "replica1"


def test_a_session_that_wrote_reads_from_the_primary_by_its_session_or_its_cookie(one_replica):
    session = {"HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}=session-one"}
    _, response = call("POST", "/accounts/CLOUD/1/status/", status=302, **session)
    wrote = response.cookies[replicas.COOKIE]
    assert wrote["httponly"] and int(wrote["max-age"]) == 5
    # By the session (the cache: every worker with REDIS_URL) ...
    assert call("GET", "/accounts/", **session)[0] == "default"
    assert call("GET", "/accounts/", HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}=session-two")[0] == "replica1"
    # ... and by the signed cookie alone (any worker, no shared cache).
    cache.clear()
    assert call("GET", "/accounts/", **session)[0] == "replica1"
    assert call("GET", "/accounts/", HTTP_COOKIE=f"{replicas.COOKIE}={wrote.value}")[0] == "default"
    assert call("GET", "/accounts/", HTTP_COOKIE=f"{replicas.COOKIE}=forged:value")[0] == "replica1"


# --- a replica failing mid-request ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_safe_request_the_replica_failed_is_answered_again_from_the_primary(one_replica, monkeypatch, method):
    checked = []
    monkeypatch.setattr(replicas.health, "check", lambda alias: checked.append(alias) or False)
    seen = []

    def view(request):
        seen.append(replicas.read_alias())
        return HttpResponse(status=503 if seen[-1] == "replica1" else 200)

    response = replicas.ReplicaMiddleware(view)(RequestFactory().generic(method, "/v1/customer_accounts"))
    assert (response.status_code, seen, checked) == (200, ["replica1", "default"], ["replica1"])


def test_a_503_with_a_healthy_replica_or_from_the_primary_is_not_run_again(one_replica, monkeypatch):
    monkeypatch.setattr(replicas.health, "check", lambda alias: True)
    view = Recorder(503)
    assert replicas.ReplicaMiddleware(view)(RequestFactory().get("/accounts/")).status_code == 503
    assert view.seen == ["replica1"]
    one_replica["replica1"] = False
    view = Recorder(503)
    assert replicas.ReplicaMiddleware(view)(RequestFactory().get("/accounts/")).status_code == 503
    assert view.seen == ["default"]


def test_a_streamed_answer_reads_where_its_request_reads(one_replica):
    def view(request):
        return StreamingHttpResponse(replicas.read_alias() for _ in range(2))

    response = replicas.ReplicaMiddleware(view)(RequestFactory().get("/accounts/export.csv"))
    assert replicas.read_alias() == "default"  # the request is over ...
    assert b"".join(response.streaming_content) == b"replica1replica1"  # ... its content still reads there


def test_a_token_the_replica_does_not_know_yet_is_looked_up_on_the_primary(one_replica, monkeypatch):
    known_on = {"default"}
    looked = []

    def lookup(plaintext):
        looked.append(replicas.read_alias())
        return type("T", (), {"user": "someone"})() if looked[-1] in known_on else None

    monkeypatch.setattr(authentication.services, "token_lookup", lookup)
    monkeypatch.setattr(authentication.tokencache, "enabled", lambda: False)
    with replicas.reading_from_replicas():
        request = RequestFactory().get("/v1/customer_accounts", HTTP_X_AUTH_TOKEN="fresh")
        user, _ = authentication.TokenAuthentication().authenticate(request)
    assert (user, looked) == ("someone", ["replica1", "default"])


def test_with_tokens_remembered_a_token_is_looked_up_on_the_primary_once(one_replica, monkeypatch):
    looked = []

    def by_hash(key_hash, moment):
        looked.append(replicas.read_alias())

    monkeypatch.setattr(authentication.tokencache, "enabled", lambda: True)
    monkeypatch.setattr(authentication.tokencache.cache, "get", lambda key_hash: None)
    monkeypatch.setattr(authentication.tokencache.cache, "generation", lambda: 0)
    monkeypatch.setattr(authentication.services, "_token_by_hash", by_hash)
    with replicas.reading_from_replicas():
        request = RequestFactory().get("/v1/customer_accounts", HTTP_X_AUTH_TOKEN="unknown")
        with pytest.raises(AuthenticationFailed):
            authentication.TokenAuthentication().authenticate(request)
    assert looked == ["default"]


# --- settings ---------------------------------------------------------------------------------------------

PRIMARY = "postgres://app@db-primary:5432/cms"
SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'databases': s.DATABASES, 'routers': s.DATABASE_ROUTERS, 'replicas': s.CMS_REPLICAS, "
    "'lag': s.CMS_REPLICA_MAX_LAG_SECONDS, 'check': s.CMS_REPLICA_CHECK_SECONDS, "
    "'ryw': s.CMS_READ_YOUR_WRITES_SECONDS}, default=str))"
)


def configured(**env: str) -> tuple[int, dict | str]:
    """cmsportal.settings as a fresh process sees it with `env` (nothing connects to these databases)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("CMS_", "DATABASE_", "DJANGO_CONN"))}
    full.update(DJANGO_SETTINGS_MODULE="cmsportal.settings", **env)
    result = subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, "-c", SHOW], env=full, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60
    )
    if result.returncode:
        return result.returncode, result.stderr
    return 0, json.loads(result.stdout.strip().splitlines()[-1])


def test_replica_urls_make_replica_connections_like_the_primary():
    code, out = configured(
        DATABASE_URL=PRIMARY,
        DATABASE_REPLICA_URLS=" postgres://app@db-r1:5433/cms , postgres://ro@db-r2/cms2?sslmode=require ,",
    )
    assert code == 0, out
    default, one, two = (out["databases"][alias] for alias in ("default", "replica1", "replica2"))
    assert out["replicas"] == ["replica1", "replica2"] and set(out["databases"]) == {"default", "replica1", "replica2"}
    assert out["routers"] == ["cmsportal.replicas.ReplicaRouter"]
    assert (one["HOST"], one["PORT"], one["NAME"], one["USER"]) == ("db-r1", 5433, "cms", "app")
    assert (two["HOST"], two["NAME"], two["USER"], two["OPTIONS"]["sslmode"]) == ("db-r2", "cms2", "ro", "require")
    for replica in (one, two):
        assert replica["ENGINE"] == default["ENGINE"] == "cmsportal.postgresql"
        assert replica["TEST"]["MIRROR"] == "default"
        assert replica["CONN_MAX_AGE"] == default["CONN_MAX_AGE"]
        for key, value in default["OPTIONS"].items():
            assert replica["OPTIONS"][key] == value
    assert (out["lag"], out["check"], out["ryw"]) == (10.0, 3.0, 5.0)


def test_no_replica_urls_means_the_primary_alone():
    for value in ("", " , "):
        code, out = configured(DATABASE_URL=PRIMARY, DATABASE_REPLICA_URLS=value)
        assert code == 0, out
        assert (list(out["databases"]), out["routers"], out["replicas"]) == (["default"], [], [])


def test_replicas_need_postgresql():
    code, out = configured(DATABASE_REPLICA_URLS="postgres://app@db-r1/cms")
    assert code != 0 and "DATABASE_REPLICA_URLS needs PostgreSQL" in out


def test_the_replica_timings_come_from_the_environment():
    code, out = configured(
        CMS_REPLICA_MAX_LAG_SECONDS="2.5", CMS_REPLICA_CHECK_SECONDS="1", CMS_READ_YOUR_WRITES_SECONDS="0"
    )
    assert code == 0, out
    assert (out["lag"], out["check"], out["ryw"]) == (2.5, 1.0, 0.0)


@pytest.mark.parametrize(
    "value,pool",
    [
        ("2:10", {"min_size": 2, "max_size": 10, "timeout": 3.0}),
        ("10", {"min_size": 1, "max_size": 10, "timeout": 3.0}),
        ("0:1", {"min_size": 0, "max_size": 1, "timeout": 3.0}),
    ],
)
def test_a_pool_for_the_primary_and_every_replica(value, pool):
    code, out = configured(DATABASE_URL=PRIMARY, DATABASE_REPLICA_URLS="postgres://app@db-r1/cms", CMS_DB_POOL=value)
    assert code == 0, out
    for alias in ("default", "replica1"):
        assert out["databases"][alias]["OPTIONS"]["pool"] == pool
        assert out["databases"][alias]["CONN_MAX_AGE"] == 0  # Django's pool refuses persistent connections


def test_the_pool_timeout_and_no_pool():
    code, out = configured(DATABASE_URL=PRIMARY, CMS_DB_POOL="4", CMS_DB_POOL_TIMEOUT="1.5")
    assert code == 0, out
    assert out["databases"]["default"]["OPTIONS"]["pool"]["timeout"] == 1.5
    code, out = configured(DATABASE_URL=PRIMARY)
    assert code == 0, out
    assert "pool" not in out["databases"]["default"]["OPTIONS"] and out["databases"]["default"]["CONN_MAX_AGE"] == 60
    code, out = configured(CMS_DB_POOL="4")  # SQLite: no pool
    assert code == 0, out
    assert "pool" not in out["databases"]["default"].get("OPTIONS", {})


@pytest.mark.parametrize("value", ["a:b", "5:2", "0", "0:0", "-1:3", "1:2:3"])
def test_a_pool_setting_that_makes_no_sense_is_refused(value):
    code, out = configured(DATABASE_URL=PRIMARY, CMS_DB_POOL=value)
    assert code != 0 and "CMS_DB_POOL must" in out


# --- /healthz -------------------------------------------------------------------------------------------


@pytest.fixture
def three_replicas(monkeypatch):
    """replica1 current, replica2 far behind, replica3 refusing connections (as `probe` would find them)."""
    found = {
        "replica1": replicas.Probe(True, "0.2 s behind the primary", "ok", 0.24),
        "replica2": replicas.Probe(False, "42.0 s behind the primary (limit 10 s)", "lagging", 42.04),
        "replica3": replicas.Probe(
            False,
            'unreachable (OperationalError: connection to server at "10.1.2.3", port 5433 failed: '
            'password authentication failed for user "reader")',
            "unreachable",
        ),
    }
    probed = []
    monkeypatch.setattr(replicas, "probe", lambda alias: probed.append(alias) or found[alias])
    replicas.health.reset()
    with override_settings(CMS_REPLICAS=list(found), CMS_REPLICA_CHECK_SECONDS=60):
        yield probed
    replicas.health.reset()


@pytest.mark.django_db
def test_healthz_reports_each_replica_by_name_without_its_address_or_credentials(client, three_replicas):
    response = client.get("/healthz")
    assert response.status_code == 200  # a replica down or behind: its reads go to the primary
    assert response.json() == {
        "status": "ok",
        "replicas": {
            "replica1": {"status": "ok", "lagSeconds": 0.2},
            "replica2": {"status": "lagging", "lagSeconds": 42.0},
            "replica3": {"status": "unreachable"},
        },
    }
    for secret in (b"10.1.2.3", b"5433", b"reader", b"password", b"postgres"):
        assert secret not in response.content
    # Checked once each, then reported from this worker's state until CMS_REPLICA_CHECK_SECONDS pass.
    assert client.get("/healthz").json() == response.json()
    assert three_replicas == ["replica1", "replica2", "replica3"]


@pytest.mark.django_db
def test_healthz_without_replicas_says_only_ok(client):
    assert replicas.replica_aliases() == []
    assert client.get("/healthz").json() == {"status": "ok"}
