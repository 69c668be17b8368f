"""X-Auth-Token authentication of API calls, and its place in the OpenAPI description."""

from datetime import timedelta

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from cmsportal import dates
from cmsportal.identity import services, tokencache
from cmsportal.identity.models import Token
from tests.factories import UserFactory

from .helpers import WHOAMI, fault

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.identity.urls")]

WWW_AUTHENTICATE = 'Keystone uri="http://testserver/v2.0"'


@pytest.fixture
def alice():
    return UserFactory(username="alice")


def assert_unauthorized(response):
    assert response.status_code == 401
    assert fault(response)[0] == "unauthorized"
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE


def test_valid_token_authenticates(api, alice):
    _, token_id = services.token_issue(alice, ["PASSWORD"])
    response = api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token_id)
    assert response.status_code == 200
    assert response.json() == {"user": "alice", "token": True}


def test_token_use_is_recorded_at_most_once_a_minute(api, alice, django_assert_num_queries):
    token, token_id = services.token_issue(alice, ["PASSWORD"])
    with django_assert_num_queries(2):  # the lookup, and recording the first use
        assert api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token_id).status_code == 200
    token.refresh_from_db()
    first_use = token.last_used
    assert first_use is not None
    # The lookup only, or on PostgreSQL nothing at all: the worker remembers the token (tokencache).
    with django_assert_num_queries(0 if tokencache.enabled() else 1):
        assert api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token_id).status_code == 200
    token.refresh_from_db()
    assert token.last_used == first_use


def test_missing_token_is_401(api):
    assert_unauthorized(api.get(WHOAMI))


@pytest.mark.parametrize("value", ["", "not-a-token", "x" * 300])
def test_unknown_token_is_401(api, alice, value):
    services.token_issue(alice, ["PASSWORD"])
    assert_unauthorized(api.get(WHOAMI, HTTP_X_AUTH_TOKEN=value))


def test_expired_token_is_401(api, alice):
    token, token_id = services.token_issue(alice, ["PASSWORD"])
    Token.objects.filter(pk=token.pk).update(expires=dates.now() - timedelta(seconds=1))
    assert_unauthorized(api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token_id))


def test_revoked_token_is_401(api, alice):
    token, token_id = services.token_issue(alice, ["PASSWORD"])
    services.token_revoke(token)
    assert_unauthorized(api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token_id))


def test_token_of_an_inactive_user_is_401(api, alice):
    _, token_id = services.token_issue(alice, ["PASSWORD"])
    alice.is_active = False
    alice.save()
    assert_unauthorized(api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token_id))


def test_bad_token_is_401_even_with_a_valid_session(alice):
    # A wrong token is an error, never a silent fall-back to whoever the browser is signed in as.
    client = APIClient()
    client.force_login(alice)
    assert_unauthorized(client.get(WHOAMI, HTTP_X_AUTH_TOKEN="stale"))


def test_session_without_token_authenticates(alice):
    client = APIClient()
    client.force_login(alice)
    assert client.get(WHOAMI).json() == {"user": "alice", "token": False}


def test_session_writes_need_csrf_but_token_writes_do_not(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(WHOAMI, {}, format="json")
    assert response.status_code == 403
    assert fault(response)[0] == "forbidden"

    _, token_id = services.token_issue(alice, ["PASSWORD"])
    assert APIClient(enforce_csrf_checks=True).post(WHOAMI, {}, format="json", HTTP_X_AUTH_TOKEN=token_id).json() == {
        "user": "alice"
    }


def test_openapi_describes_the_token_header():
    from django.urls import path

    from tests.identity.urls import WhoAmI

    schema = SchemaGenerator(patterns=[path("v1/test-whoami", WhoAmI.as_view())]).get_schema(request=None, public=True)
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Auth-Token",
        "description": "A token from POST /v2.0/tokens (password or API key credentials).",
    }
    operation = schema["paths"]["/v1/test-whoami"]["get"]
    assert {"tokenAuth": []} in operation["security"]
