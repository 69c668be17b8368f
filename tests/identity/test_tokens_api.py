"""POST /v2.0/tokens and DELETE /v2.0/tokens/{tokenId}."""

import hashlib
import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings
from rest_framework.test import APIClient

from cmsportal import dates
from cmsportal.identity import services
from cmsportal.identity.models import Token
from tests.factories import UserFactory

from .helpers import BAD_CREDENTIALS, TOKENS, WHOAMI, apikey_body, fault, password_body, secrets_stored

PASSWORD = "correct horse battery staple"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.identity.urls")]


@pytest.fixture
def alice():
    return UserFactory(username="alice")


def expected_access(token_id, expires, user, authenticated_by, roles):
    return {
        "access": {
            "token": {"id": token_id, "expires": expires, "RAX-AUTH:authenticatedBy": [authenticated_by]},
            "user": {"id": str(user.pk), "name": user.username, "roles": [{"name": r} for r in roles]},
            "serviceCatalog": [
                {
                    "name": "customerService",
                    "type": "rax:customer",
                    "endpoints": [{"publicURL": "http://testserver/v1"}],
                }
            ],
        }
    }


@override_settings(CMS_TOKEN_LIFETIME=3600)
def test_password_credentials_give_a_token_in_the_identity_shape(api, alice):
    before = dates.now()
    response = api.post(TOKENS, password_body("alice", PASSWORD), format="json")
    after = dates.now()

    assert response.status_code == 200
    body = response.json()
    token = body["access"]["token"]
    assert body == expected_access(token["id"], token["expires"], alice, "PASSWORD", ["customer"])
    assert ISO_MS.match(token["expires"])
    expires = dates.parse_date(token["expires"])
    assert before + timedelta(seconds=3600) <= expires <= after + timedelta(seconds=3600)
    row = Token.objects.get()
    assert row.user == alice and row.authenticated_by == ["PASSWORD"]
    assert row.key_hash == hashlib.sha256(token["id"].encode()).hexdigest()


@override_settings(CMS_TOKEN_LIFETIME=120)
def test_api_key_credentials_give_a_token_authenticated_by_apikey(api, alice):
    _, key = services.apikey_issue(alice, "billing system")
    before = dates.now()
    response = api.post(TOKENS, apikey_body("alice", key), format="json")

    assert response.status_code == 200
    body = response.json()
    token = body["access"]["token"]
    assert body == expected_access(token["id"], token["expires"], alice, "APIKEY", ["customer"])
    assert timedelta(seconds=119) <= dates.parse_date(token["expires"]) - before <= timedelta(seconds=121)
    assert api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token["id"]).json()["user"] == "alice"


def test_staff_get_the_staff_role_and_their_groups(api):
    staff = UserFactory(username="sam", is_staff=True, view_all=True)
    staff.groups.add(Group.objects.create(name="billing"), Group.objects.create(name="auditors"))
    response = api.post(TOKENS, password_body("sam", PASSWORD), format="json")
    assert response.json()["access"]["user"]["roles"] == [{"name": "staff"}, {"name": "auditors"}, {"name": "billing"}]


def test_public_url_follows_the_host_of_the_request(api, alice):
    with override_settings(ALLOWED_HOSTS=["cms.example.com"]):
        response = api.post(TOKENS, password_body("alice", PASSWORD), format="json", HTTP_HOST="cms.example.com")
    assert response.json()["access"]["serviceCatalog"][0]["endpoints"] == [{"publicURL": "http://cms.example.com/v1"}]


def test_xml_credentials_are_accepted(api, alice):
    _, key = services.apikey_issue(alice, "xml client")
    password_xml = (
        '<?xml version="1.0" encoding="UTF-8"?><auth xmlns="http://docs.openstack.org/identity/api/v2.0">'
        f'<passwordCredentials username="alice" password="{PASSWORD}"/></auth>'
    )
    apikey_xml = (
        '<auth><apiKeyCredentials xmlns="http://docs.rackspace.com/identity/api/ext/RAX-KSKEY/v1.0"'
        f' username="alice" apiKey="{key}"/></auth>'
    )
    for body, method in ((password_xml, "PASSWORD"), (apikey_xml, "APIKEY")):
        response = api.post(TOKENS, body, content_type="application/xml", HTTP_ACCEPT="application/json")
        assert response.status_code == 200, response.content
        assert response.json()["access"]["token"]["RAX-AUTH:authenticatedBy"] == [method]


def test_xml_with_entities_is_refused(api, alice):
    bomb = '<!DOCTYPE a [<!ENTITY e "x">]><auth><passwordCredentials username="&e;" password="p"/></auth>'
    response = api.post(TOKENS, bomb, content_type="application/xml", HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert fault(response)[0] == "badRequest"


@pytest.mark.parametrize(
    "make_body",
    [
        pytest.param(lambda key: password_body("nobody", PASSWORD), id="unknown user, password"),
        pytest.param(lambda key: password_body("alice", "wrong password"), id="wrong password"),
        pytest.param(lambda key: apikey_body("nobody", key), id="unknown user, api key"),
        pytest.param(lambda key: apikey_body("alice", key + "x"), id="wrong api key"),
        pytest.param(lambda key: apikey_body("bob", key), id="someone else's api key"),
        pytest.param(lambda key: apikey_body("ALICE", key), id="username in other case"),
    ],
)
def test_bad_credentials_are_401_with_one_message(api, alice, make_body):
    UserFactory(username="bob")
    _, key = services.apikey_issue(alice, "k")
    response = api.post(TOKENS, make_body(key), format="json")
    assert response.status_code == 401
    assert fault(response) == ("unauthorized", {"code": 401, "message": BAD_CREDENTIALS})
    assert response["WWW-Authenticate"] == 'Keystone uri="http://testserver/v2.0"'
    assert not Token.objects.exists()


def test_inactive_user_gets_the_same_401(api, alice):
    _, key = services.apikey_issue(alice, "k")
    alice.is_active = False
    alice.save()
    for body in (password_body("alice", PASSWORD), apikey_body("alice", key)):
        response = api.post(TOKENS, body, format="json")
        assert response.status_code == 401
        assert fault(response) == ("unauthorized", {"code": 401, "message": BAD_CREDENTIALS})
    assert not Token.objects.exists()


def test_revoked_api_key_gets_the_same_401(api, alice):
    row, key = services.apikey_issue(alice, "k")
    services.apikey_revoke(row)
    response = api.post(TOKENS, apikey_body("alice", key), format="json")
    assert response.status_code == 401
    assert fault(response)[1]["message"] == BAD_CREDENTIALS


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty object"),
        pytest.param([], id="array"),
        pytest.param({"auth": "x"}, id="auth not an object"),
        pytest.param({"auth": {}}, id="no credentials"),
        pytest.param({"auth": {"passwordCredentials": "alice"}}, id="credentials not an object"),
        pytest.param({"auth": {"passwordCredentials": {"username": "alice"}}}, id="no password"),
        pytest.param({"auth": {"passwordCredentials": {"username": "", "password": "p"}}}, id="empty username"),
        pytest.param({"auth": {"passwordCredentials": {"username": 1, "password": "p"}}}, id="username not a string"),
        pytest.param({"auth": {"passwordCredentials": {"username": "a\x00", "password": "p"}}}, id="NUL"),
        pytest.param({"auth": {"passwordCredentials": {"username": "a\ud800", "password": "p"}}}, id="surrogate"),
        pytest.param({"auth": {"passwordCredentials": {"username": "a", "password": "p" * 5000}}}, id="too long"),
        pytest.param({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "alice", "password": "p"}}}, id="no key"),
        pytest.param(
            {
                "auth": {
                    "passwordCredentials": {"username": "alice", "password": PASSWORD},
                    "RAX-KSKEY:apiKeyCredentials": {"username": "alice", "apiKey": "k"},
                }
            },
            id="both kinds",
        ),
    ],
)
def test_malformed_bodies_are_400(api, alice, body):
    response = api.post(TOKENS, json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert fault(response)[0] == "badRequest"
    assert not Token.objects.exists()


def test_body_that_is_not_json_is_400(api):
    response = api.post(TOKENS, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert fault(response)[0] == "badRequest"


def test_body_of_another_media_type_is_415(api):
    response = api.post(TOKENS, "username=alice", content_type="text/plain")
    assert response.status_code == 415
    assert fault(response)[0] == "unsupportedMediaType"


def test_post_needs_no_csrf_token_even_with_a_session(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(TOKENS, password_body("alice", PASSWORD), format="json")
    assert response.status_code == 200


def test_plaintext_token_is_stored_nowhere(api, alice):
    token_id = api.post(TOKENS, password_body("alice", PASSWORD), format="json").json()["access"]["token"]["id"]
    assert len(token_id) >= 40
    stored = secrets_stored()
    assert hashlib.sha256(token_id.encode()).hexdigest() in stored
    assert token_id not in stored


@override_settings(CMS_SIGNIN_FAILURE_RATE="3/min")
def test_repeated_failures_are_limited_per_username_and_address(api, alice):
    for _ in range(3):
        assert api.post(TOKENS, password_body("alice", "wrong"), format="json").status_code == 401
    # Even the right password waits now, from that address: guessing must not go on.
    response = api.post(TOKENS, password_body("alice", PASSWORD), format="json")
    assert response.status_code == 413
    assert fault(response)[0] == "overLimit"
    assert 0 < int(response["Retry-After"]) <= 60
    # Failures elsewhere do not lock the real user out: alice from her own address signs in.
    response = api.post(TOKENS, password_body("alice", PASSWORD), format="json", REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 200
    # Another user from another address is not held up.
    UserFactory(username="bob")
    response = api.post(TOKENS, password_body("bob", PASSWORD), format="json", REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 200


@override_settings(CMS_SIGNIN_FAILURE_RATE="3/min")
def test_repeated_failures_are_limited_per_address(api, alice):
    for name in ("x1", "x2", "x3"):
        assert api.post(TOKENS, password_body(name, "wrong"), format="json").status_code == 401
    assert api.post(TOKENS, password_body("alice", PASSWORD), format="json").status_code == 413
    assert api.post(TOKENS, password_body("alice", PASSWORD), format="json", REMOTE_ADDR="10.1.1.1").status_code == 200


@override_settings(CMS_SIGNIN_FAILURE_RATE="3/min")
def test_successful_sign_ins_are_not_limited(api, alice):
    for _ in range(6):
        assert api.post(TOKENS, password_body("alice", PASSWORD), format="json").status_code == 200


def test_get_on_tokens_is_405(api):
    response = api.get(TOKENS)
    assert response.status_code == 405
    assert fault(response)[0] == "methodNotAllowed"


# DELETE /v2.0/tokens/{tokenId}


def issue(user):
    return services.token_issue(user, ["PASSWORD"])


def test_delete_revokes_own_token_then_it_is_401(api, alice):
    token, token_id = issue(alice)
    assert api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token_id).status_code == 200

    response = api.delete(f"{TOKENS}/{token_id}", HTTP_X_AUTH_TOKEN=token_id)

    assert response.status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    response = api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token_id)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Keystone uri="http://testserver/v2.0"'


def test_user_may_revoke_another_of_own_tokens(api, alice):
    _, current = issue(alice)
    other, other_id = issue(alice)
    assert api.delete(f"{TOKENS}/{other_id}", HTTP_X_AUTH_TOKEN=current).status_code == 204
    other.refresh_from_db()
    assert other.revoked_at is not None
    assert api.get(WHOAMI, HTTP_X_AUTH_TOKEN=current).status_code == 200


def test_revoking_someone_elses_token_needs_staff(api, alice):
    bob = UserFactory(username="bob")
    victim, victim_id = issue(alice)
    _, bob_token = issue(bob)

    response = api.delete(f"{TOKENS}/{victim_id}", HTTP_X_AUTH_TOKEN=bob_token)
    assert response.status_code == 403
    assert fault(response)[0] == "forbidden"
    victim.refresh_from_db()
    assert victim.revoked_at is None

    _, staff_token = issue(UserFactory(username="sam", is_staff=True, view_all=True))
    assert api.delete(f"{TOKENS}/{victim_id}", HTTP_X_AUTH_TOKEN=staff_token).status_code == 204
    victim.refresh_from_db()
    assert victim.revoked_at is not None


def test_deleting_an_unknown_or_revoked_token_is_404(api, alice):
    _, token_id = issue(alice)
    response = api.delete(f"{TOKENS}/no-such-token", HTTP_X_AUTH_TOKEN=token_id)
    assert response.status_code == 404
    assert fault(response)[0] == "notFound"
    gone, gone_id = issue(alice)
    services.token_revoke(gone)
    assert api.delete(f"{TOKENS}/{gone_id}", HTTP_X_AUTH_TOKEN=token_id).status_code == 404


def test_delete_without_authentication_is_401(api, alice):
    token, token_id = issue(alice)
    response = api.delete(f"{TOKENS}/{token_id}")
    assert response.status_code == 401
    assert fault(response)[0] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Keystone ")
    token.refresh_from_db()
    assert token.revoked_at is None


def test_delete_with_a_session_needs_csrf(alice):
    token, token_id = issue(alice)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.delete(f"{TOKENS}/{token_id}").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None

    client = APIClient()
    client.force_login(alice)
    assert client.delete(f"{TOKENS}/{token_id}").status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_access_in_xml(api, alice):
    from defusedxml.ElementTree import fromstring

    ns = {
        "id": "http://docs.openstack.org/identity/api/v2.0",
        "rax": "http://docs.rackspace.com/identity/api/ext/RAX-AUTH/v1.0",
    }
    response = api.post(TOKENS, password_body("alice", PASSWORD), format="json", HTTP_ACCEPT="application/xml")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = fromstring(response.content)
    assert root.tag == "{http://docs.openstack.org/identity/api/v2.0}access"
    token = root.find("id:token", ns)
    row = Token.objects.get()
    assert hashlib.sha256(token.get("id").encode()).hexdigest() == row.key_hash
    assert token.get("expires") == dates.format_date(row.expires)
    assert [c.text for c in token.findall("rax:authenticatedBy/rax:credential", ns)] == ["PASSWORD"]
    user = root.find("id:user", ns)
    assert (user.get("id"), user.get("name")) == (str(alice.pk), "alice")
    assert [r.get("name") for r in user.findall("id:roles/id:role", ns)] == ["customer"]
    service = root.find("id:serviceCatalog/id:service", ns)
    assert (service.get("name"), service.get("type")) == ("customerService", "rax:customer")
    assert [e.get("publicURL") for e in service.findall("id:endpoint", ns)] == ["http://testserver/v1"]


def test_bad_credentials_in_xml_are_an_xml_fault(api):
    body = '<auth><passwordCredentials username="nobody" password="x"/></auth>'
    response = api.post(TOKENS, body, content_type="application/xml", HTTP_ACCEPT="application/xml")
    assert response.status_code == 401
    assert b"<unauthorized" in response.content and BAD_CREDENTIALS.encode() in response.content


def test_failed_revocations_are_logged_without_the_token(api, alice, caplog):
    _, token_id = issue(alice)
    _, bob_token = issue(UserFactory(username="bob"))
    with caplog.at_level("INFO"):
        assert api.delete(f"{TOKENS}/{token_id}", HTTP_X_AUTH_TOKEN=bob_token).status_code == 403
        assert api.delete(f"{TOKENS}/{token_id}").status_code == 401
        assert api.get(f"{TOKENS}/{token_id}", HTTP_X_AUTH_TOKEN=bob_token).status_code == 405
    assert len(caplog.records) == 3
    assert "Forbidden: DELETE /v2.0/tokens/<token>" in caplog.text
    assert token_id not in caplog.text and bob_token not in caplog.text


def test_format_suffix_overrides_accept(api, alice):
    response = api.post(
        f"{TOKENS}.xml", password_body("alice", PASSWORD), format="json", HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    _, token_id = issue(alice)
    assert api.delete(f"{TOKENS}/{token_id}.json", HTTP_X_AUTH_TOKEN=token_id).status_code == 204
    assert services.token_authenticate(token_id) is None


def test_unknown_identity_path_is_a_not_found_fault(api):
    response = api.get("/v2.0/users")
    assert response.status_code == 404
    assert fault(response)[0] == "notFound"


def test_openapi_document_lists_the_token_scheme_and_identity_operations(api):
    response = api.get("/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "X-Auth-Token"
    assert "post" in schema["paths"]["/v2.0/tokens"]
    assert "delete" in schema["paths"]["/v2.0/tokens/{token_id}"]


def test_options_is_405_like_any_other_method(api):
    response = api.options(TOKENS, HTTP_ACCEPT="application/xml")
    assert response.status_code == 405
    assert b"<methodNotAllowed" in response.content
