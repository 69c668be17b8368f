"""The database away, at unit level: every query fails, and every kind of request answers 503.

The API and /v2.0/tokens answer the `serviceUnavailable` fault (JSON or XML as negotiated), the staff
pages and the admin a plain page rendered without the database; all with Retry-After, and one log line
per failed request without a traceback. Real outages on PostgreSQL: tests/test_outage_live.py.
"""

import logging
import sqlite3

import psycopg
import pytest
from defusedxml.ElementTree import fromstring as safe_xml
from django.conf import settings as django_settings
from django.db import connection
from django.db.utils import InterfaceError, OperationalError
from django.test import Client

from cmsportal import outage
from cmsportal.identity import services as identity
from tests.factories import AccountFactory, StaffFactory

CMS = "{http://customer.api.rackspace.com/v1}"
ACCOUNT = "/v1/customer_accounts/CLOUD/1"
REFUSED = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'


def wrapped(error: Exception, django_class=OperationalError) -> Exception:
    """`error` as Django raises it: its own class of error, caused by the driver's."""
    try:
        raise django_class(*error.args) from error
    except django_class as exc:
        return exc


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(db):
    return StaffFactory(username="outage-staff", password="correct horse battery staple")


@pytest.fixture
def token(staff):
    AccountFactory(account_id="1")
    return identity.token_issue(staff, [identity.PASSWORD])[1]


@pytest.fixture
def signed_in(staff):
    client = Client()
    client.force_login(staff)
    return client


class DatabaseDown:
    """While active, every query on the connection fails with `error`; `attempts` counts the queries tried."""

    def __init__(self, error: Exception):
        self.error = error
        self.attempts: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.attempts.append(sql)
        raise self.error


@pytest.fixture
def database_down(db):
    """Turn the database off (every query raises) from this point of the test on."""
    down = DatabaseDown(wrapped(psycopg.OperationalError(REFUSED)))
    with connection.execute_wrapper(down):
        yield down


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO)
    return caplog


def assert_one_line_logged(log, path: str):
    """One record for the failed request, naming it, and no traceback anywhere."""
    lines = [r for r in log.records if r.name == "cmsportal.outage"]
    assert len(lines) == 1, [r.getMessage() for r in log.records]
    assert path in lines[0].getMessage()
    assert lines[0].levelno == logging.ERROR
    assert not [r for r in log.records if r.exc_info], [r.getMessage() for r in log.records if r.exc_info]
    assert not [r for r in log.records if r.name == "django.request"]


def assert_json_fault(response):
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert response["Retry-After"] == str(outage.RETRY_AFTER)
    body = response.json()
    assert list(body) == ["serviceUnavailable"]
    assert body["serviceUnavailable"]["code"] == 503
    assert "unavailable" in body["serviceUnavailable"]["message"]


def assert_xml_fault(response):
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/xml")
    assert response["Retry-After"] == str(outage.RETRY_AFTER)
    root = safe_xml(response.content)
    assert root.tag == f"{CMS}serviceUnavailable"
    assert root.get("code") == "503"


def assert_unavailable_page(response):
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == str(outage.RETRY_AFTER)
    assert b"Temporarily unavailable" in response.content


# --- the API and the token endpoint ------------------------------------------------------------------


def test_an_api_get_answers_the_json_fault(token, database_down, log):
    response = Client().get(ACCOUNT, HTTP_X_AUTH_TOKEN=token)
    assert_json_fault(response)
    assert_one_line_logged(log, ACCOUNT)


@pytest.mark.parametrize("how", ["accept", "suffix"])
def test_an_api_get_answers_the_xml_fault_when_xml_is_asked_for(token, database_down, how):
    if how == "accept":
        response = Client().get(ACCOUNT, HTTP_X_AUTH_TOKEN=token, HTTP_ACCEPT="application/xml")
    else:
        response = Client().get(f"{ACCOUNT}.xml", HTTP_X_AUTH_TOKEN=token)
    assert_xml_fault(response)


def test_an_api_get_with_a_session_answers_the_fault(signed_in, database_down, log):
    """Session authentication loads the session inside DRF's authentication."""
    assert_json_fault(signed_in.get(ACCOUNT))
    assert_one_line_logged(log, ACCOUNT)


def test_the_token_endpoint_answers_the_fault(staff, database_down, log):
    body = {"auth": {"passwordCredentials": {"username": "outage-staff", "password": "correct horse battery staple"}}}
    response = Client().post("/v2.0/tokens", body, content_type="application/json")
    assert_json_fault(response)
    assert_one_line_logged(log, "/v2.0/tokens")
    xml_body = (
        '<auth xmlns="http://docs.openstack.org/identity/api/v2.0">'
        '<passwordCredentials username="outage-staff" password="correct horse battery staple"/></auth>'
    )
    response = Client().post("/v2.0/tokens", xml_body, content_type="application/xml", HTTP_ACCEPT="application/xml")
    assert_xml_fault(response)


def test_revoking_a_token_keeps_the_token_out_of_the_log(token, database_down, log):
    response = Client().delete(f"/v2.0/tokens/{token}", HTTP_X_AUTH_TOKEN=token)
    assert_json_fault(response)
    assert token not in log.text
    assert "/v2.0/tokens/<token>" in log.text


# --- staff pages and the admin -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/search/?q=acme", "/admin/", "/admin/accounts/account/"])
def test_pages_answer_the_plain_page_without_touching_the_database_again(signed_in, database_down, log, path):
    response = signed_in.get(path)
    assert_unavailable_page(response)
    # The session was the first query, and failed; rendering the page tried none.
    assert len(database_down.attempts) == 1
    assert_one_line_logged(log, path.split("?")[0])


def test_a_page_with_a_stale_session_cookie_answers_the_plain_page(database_down):
    client = Client()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = "no-such-session-0123456789abcdef"
    assert_unavailable_page(client.get("/login/"))


class UserReadingMiddleware:
    """A middleware that reads the user (as sign-in limits or audit middleware do): the session loads here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user.is_authenticated  # noqa: B018 (the lazy user is evaluated here, in middleware)
        return self.get_response(request)


@pytest.mark.parametrize("path", ["/", "/admin/", ACCOUNT, f"{ACCOUNT}.xml"])
def test_a_failure_inside_another_middleware_answers_503(settings, database_down, log, path):
    index = settings.MIDDLEWARE.index("cmsportal.browsermiddleware.AuthenticationMiddleware")
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[: index + 1],
        f"{__name__}.UserReadingMiddleware",
        *settings.MIDDLEWARE[index + 1 :],
    ]
    # Django turns an exception raised in a middleware into a response itself (handler500); the test
    # client would re-raise it.
    client = Client(raise_request_exception=False)
    client.cookies[django_settings.SESSION_COOKIE_NAME] = "a-session-key-the-middleware-will-look-up"
    response = client.get(path)
    if path.startswith("/v1/"):
        (assert_xml_fault if path.endswith(".xml") else assert_json_fault)(response)
    else:
        assert_unavailable_page(response)
    assert len(database_down.attempts) == 1
    assert_one_line_logged(log, path)


def test_what_escapes_every_middleware_is_caught_around_the_chain(settings, database_down, log):
    """With DEBUG_PROPAGATE_EXCEPTIONS Django re-raises instead of calling the 500 handler."""
    settings.DEBUG_PROPAGATE_EXCEPTIONS = True
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.UserReadingMiddleware"]
    client = Client(raise_request_exception=False)
    client.cookies[django_settings.SESSION_COOKIE_NAME] = "a-session-key-the-middleware-will-look-up"
    assert_unavailable_page(client.get("/"))
    assert_json_fault(client.get(ACCOUNT))


# --- /healthz ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_ok_without_authentication_or_session(django_assert_num_queries):
    client = Client()
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_healthz_answers_503_when_the_database_does_not(database_down, log):
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert response["Retry-After"] == str(outage.RETRY_AFTER)
    assert_one_line_logged(log, "/healthz")


@pytest.mark.django_db
def test_healthz_is_only_read():
    assert Client().post("/healthz").status_code == 405
    assert Client().head("/healthz").status_code == 200


# --- which errors mean "unavailable" -------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        wrapped(psycopg.OperationalError(REFUSED)),
        wrapped(psycopg.OperationalError("terminating connection due to administrator command")),
        wrapped(psycopg.OperationalError('database "cms" does not exist')),
        wrapped(psycopg.InterfaceError("the connection is closed"), InterfaceError),
        wrapped(sqlite3.OperationalError("database is locked")),
        OperationalError("server closed the connection unexpectedly"),
        psycopg.OperationalError("connection timeout expired"),
    ],
    ids=str,
)
def test_errors_that_mean_the_database_cannot_answer_now(error):
    assert outage.database_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(sqlite3.OperationalError("no such table: accounts_account")),
        wrapped(sqlite3.OperationalError('near "SELEC": syntax error')),
        ValueError("database is locked"),
        None,
    ],
    ids=str,
)
def test_errors_that_mean_a_query_is_wrong_are_not_outages(error):
    assert not outage.database_unavailable(error)


def test_sqlite_locked_answers_503_with_retry_after(token, log):
    down = DatabaseDown(wrapped(sqlite3.OperationalError("database is locked")))
    with connection.execute_wrapper(down):
        response = Client().get(ACCOUNT, HTTP_X_AUTH_TOKEN=token)
    assert_json_fault(response)


def test_a_query_error_stays_a_500_fault(token, log):
    down = DatabaseDown(wrapped(sqlite3.OperationalError("no such table: identity_token")))
    with connection.execute_wrapper(down):
        response = Client().get(ACCOUNT, HTTP_X_AUTH_TOKEN=token)
    assert response.status_code == 500
    assert list(response.json()) == ["internalServerError"]
    assert "Retry-After" not in response
