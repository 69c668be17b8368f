"""Admin of API keys (issued once, shown once) and tokens (read-only, revocable)."""

import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from cmsportal.identity import services
from cmsportal.identity.models import ApiKey, Token
from tests.factories import UserFactory

from .helpers import secrets_stored

pytestmark = pytest.mark.django_db

KEYS = "/admin/identity/apikey/"
TOKENS = "/admin/identity/token/"


@pytest.fixture
def admin_client_():
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "a long admin password")
    client = Client()
    client.force_login(admin)
    return client


def test_issuing_a_key_shows_it_once_and_stores_only_its_hash(admin_client_):
    alice = UserFactory(username="alice")
    assert admin_client_.get(f"{KEYS}add/").status_code == 200

    response = admin_client_.post(f"{KEYS}add/", {"user": alice.pk, "name": "billing system"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get()
    plaintext = response.context["plaintext"]
    assert plaintext in response.content.decode()
    assert "Copy this key now" in response.content.decode()
    assert key.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert (key.user, key.name, key.prefix) == (alice, "billing system", plaintext[:8])
    assert plaintext not in secrets_stored()
    # Neither the session (where messages may go) nor a cookie keeps it.
    assert plaintext not in repr(dict(admin_client_.session))
    assert all(plaintext not in morsel.value for morsel in response.cookies.values())
    # Never shown again, and the hash is never shown at all.
    for page in (KEYS, f"{KEYS}{key.pk}/change/"):
        content = admin_client_.get(page).content.decode()
        assert plaintext not in content
        assert key.key_hash not in content
        assert key.prefix in content
    assert services.apikey_check("alice", plaintext) == alice


def test_changing_a_key_keeps_its_hash(admin_client_):
    key, plaintext = services.apikey_issue(UserFactory(username="alice"), "old name")
    response = admin_client_.post(f"{KEYS}{key.pk}/change/", {"name": "new name"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.name == "new name"
    assert services.apikey_check("alice", plaintext) is not None


def test_revoke_keys_action(admin_client_):
    alice = UserFactory(username="alice")
    key, plaintext = services.apikey_issue(alice, "billing")
    kept, kept_plaintext = services.apikey_issue(alice, "other")
    response = admin_client_.post(KEYS, {"action": "revoke_keys", "_selected_action": [key.pk]})
    assert response.status_code == 302
    assert services.apikey_check("alice", plaintext) is None
    assert services.apikey_check("alice", kept_plaintext) == alice


def test_tokens_are_listed_read_only_and_revocable(admin_client_):
    alice = UserFactory(username="alice")
    token, token_id = services.token_issue(alice, ["PASSWORD"])
    listing = admin_client_.get(TOKENS)
    assert listing.status_code == 200
    assert "alice" in listing.content.decode()
    detail = admin_client_.get(f"{TOKENS}{token.pk}/change/").content.decode()
    assert token.key_hash not in detail and token_id not in detail
    assert admin_client_.get(f"{TOKENS}add/").status_code == 403
    assert admin_client_.post(f"{TOKENS}{token.pk}/change/", {"expires": "2999-01-01 00:00:00"}).status_code == 403

    response = admin_client_.post(TOKENS, {"action": "revoke_tokens", "_selected_action": [token.pk]})
    assert response.status_code == 302
    assert services.token_authenticate(token_id) is None


def test_revoking_tokens_needs_the_change_permission():
    alice = UserFactory(username="alice")
    token, token_id = services.token_issue(alice, ["PASSWORD"])
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_token"))
    client = Client()
    client.force_login(viewer)
    assert client.get(TOKENS).status_code == 200
    client.post(TOKENS, {"action": "revoke_tokens", "_selected_action": [token.pk]})
    assert Token.objects.get().revoked_at is None
    assert services.token_authenticate(token_id) == alice


def test_only_superusers_issue_keys_for_other_staff():
    issuer = UserFactory(username="keeper", is_staff=True)
    # Keys for customers' users need the global view too (a tenant-scoped issuer: tests/security/test_admin_scope.py).
    codenames = ["add_apikey", "view_apikey", "view_all_accounts"]
    issuer.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    colleague = UserFactory(username="colleague", is_staff=True)
    root = get_user_model().objects.create_superuser("root", "root@example.com", "a long admin password")
    customer = UserFactory(username="customer")
    client = Client()
    client.force_login(issuer)

    for target in (colleague, root):
        response = client.post(f"{KEYS}add/", {"user": target.pk, "name": "escalate"})
        assert response.status_code == 200
        assert "Only a superuser may issue" in response.content.decode()
    assert not ApiKey.objects.exists()

    for target in (customer, issuer):
        response = client.post(f"{KEYS}add/", {"user": target.pk, "name": "fine"})
        assert response.status_code == 200 and "Copy this key now" in response.content.decode()
    assert set(ApiKey.objects.values_list("user__username", flat=True)) == {"customer", "keeper"}


def test_the_password_page_sets_the_password_through_the_service_and_ends_tokens(admin_client_, monkeypatch):
    user = UserFactory(username="bob")
    token, _ = services.token_issue(user, ["PASSWORD"])
    called = []
    real = services.user_password_set
    monkeypatch.setattr(services, "user_password_set", lambda **kw: called.append(kw["user"].pk) or real(**kw))
    new = "an entirely new passphrase"
    response = admin_client_.post(
        f"/admin/auth/user/{user.pk}/password/", {"password1": new, "password2": new, "usable_password": "true"}
    )
    assert response.status_code == 302
    assert called == [user.pk]
    user.refresh_from_db()
    token.refresh_from_db()
    assert user.check_password(new) and token.revoked_at is not None
