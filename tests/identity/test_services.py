"""Token and API key services."""

import hashlib
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import override_settings

from cmsportal import dates
from cmsportal.identity import services, tokencache
from cmsportal.identity.models import ApiKey, Token
from tests.factories import UserFactory

from .helpers import secrets_stored

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return UserFactory(username="alice")


@override_settings(CMS_TOKEN_LIFETIME=90)
def test_token_issue_stores_only_the_hash_and_honours_the_lifetime(alice):
    token, plaintext = services.token_issue(alice, ["APIKEY"])
    assert token.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert token.expires - token.created == timedelta(seconds=90)
    assert token.authenticated_by == ["APIKEY"]
    assert plaintext not in secrets_stored()


def test_tokens_are_distinct_random_values(alice):
    values = {services.token_issue(alice, ["PASSWORD"])[1] for _ in range(5)}
    assert len(values) == 5
    assert all(len(value) >= 43 for value in values)


def test_token_authenticate(alice):
    token, plaintext = services.token_issue(alice, ["PASSWORD"])
    assert services.token_authenticate(plaintext) == alice
    assert services.token_authenticate(plaintext + "x") is None
    assert services.token_authenticate("") is None
    assert services.token_authenticate(None) is None
    Token.objects.filter(pk=token.pk).update(expires=dates.now() - timedelta(milliseconds=1))
    # A bulk update sends no signal: what makes every worker forget it is the notification of its commit
    # (test_token_cache.py), which a test inside a transaction never reaches.
    tokencache.forget()
    assert services.token_authenticate(plaintext) is None


def test_token_revoke_is_idempotent(alice):
    token, plaintext = services.token_issue(alice, ["PASSWORD"])
    services.token_revoke(token)
    first = Token.objects.get().revoked_at
    services.token_revoke(Token.objects.get())
    assert Token.objects.get().revoked_at == first
    assert services.token_authenticate(plaintext) is None


def test_purge_deletes_ended_tokens_only(alice):
    live, _ = services.token_issue(alice, ["PASSWORD"])
    expired, _ = services.token_issue(alice, ["PASSWORD"])
    Token.objects.filter(pk=expired.pk).update(expires=dates.now() - timedelta(days=3))
    revoked, _ = services.token_issue(alice, ["PASSWORD"])
    services.token_revoke(revoked)
    assert services.tokens_purge_expired(timedelta(days=1)) == 1
    assert set(Token.objects.values_list("pk", flat=True)) == {live.pk, revoked.pk}
    assert services.tokens_purge_expired() == 1
    assert list(Token.objects.values_list("pk", flat=True)) == [live.pk]


def test_apikey_issue_stores_only_the_hash_and_a_short_prefix(alice):
    key, plaintext = services.apikey_issue(alice, "billing")
    assert key.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert key.prefix == plaintext[:8]
    assert len(plaintext) >= 43
    assert plaintext not in secrets_stored()


def test_apikey_check(alice):
    key, plaintext = services.apikey_issue(alice, "billing")
    UserFactory(username="bob")
    assert services.apikey_check("alice", plaintext) == alice
    assert services.apikey_check("bob", plaintext) is None
    assert services.apikey_check("nobody", plaintext) is None
    assert services.apikey_check("alice", plaintext[:-1]) is None
    assert services.apikey_check("alice", "") is None
    ApiKey.objects.filter(pk=key.pk).update(last_used=None)
    services.apikey_check("alice", plaintext)
    assert ApiKey.objects.get().last_used is not None
    services.apikey_revoke(key)
    assert services.apikey_check("alice", plaintext) is None


def test_apikey_check_compares_digests_whether_or_not_a_key_matches(alice):
    _, plaintext = services.apikey_issue(alice, "billing")
    for username, key in (("alice", plaintext), ("alice", "wrong"), ("nobody", "wrong"), ("nobody", plaintext)):
        with mock.patch.object(services.hmac, "compare_digest", wraps=services.hmac.compare_digest) as compare:
            services.apikey_check(username, key)
        assert compare.call_count == 2, (username, key)


def test_password_check_hashes_even_for_unknown_users(alice, rf):
    with mock.patch.object(PBKDF2PasswordHasher, "encode", autospec=True, wraps=PBKDF2PasswordHasher.encode) as enc:
        assert services.password_check(rf.post("/"), "nobody", "whatever") is None
    assert enc.call_count == 1


def test_password_check(alice, rf):
    assert services.password_check(rf.post("/"), "alice", "correct horse battery staple") == alice
    assert services.password_check(rf.post("/"), "alice", "wrong") is None
    alice.is_active = False
    alice.save()
    assert services.password_check(rf.post("/"), "alice", "correct horse battery staple") is None


def test_user_password_set_revokes_the_user_s_tokens(alice):
    token, _ = services.token_issue(alice, ["PASSWORD"])
    services.user_password_set(user=alice, password="a brand new passphrase")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert alice.check_password("a brand new passphrase")
    services.user_password_set(user=alice, password=None)
    assert not alice.has_usable_password()


def test_user_save_replaces_groups_and_permissions_only_when_given(alice):
    from django.contrib.auth.models import Permission

    group = services.group_ensure(name="auditors")
    assert services.group_ensure(name="auditors") == group
    permission = Permission.objects.get(codename="view_all_accounts")
    services.user_save(user=alice, groups=[group], permissions=[permission])
    alice.first_name = "Alice"
    services.user_save(user=alice)
    assert list(alice.groups.all()) == [group] and list(alice.user_permissions.all()) == [permission]
    services.user_save(user=alice, groups=[], permissions=[])
    assert not alice.groups.exists() and not alice.user_permissions.exists()


def test_tenant_grant_save_refuses_a_duplicate_and_delete_withdraws_it(alice):
    from django.core.exceptions import ValidationError

    from cmsportal.identity.models import TenantGrant

    grant = services.tenant_grant_save(grant=TenantGrant(user=alice, tenant_id="10101"))
    assert services.tenant_grant_ensure(user=alice, tenant_id="10101") == grant
    with pytest.raises(ValidationError):
        services.tenant_grant_save(grant=TenantGrant(user=alice, tenant_id="10101"))
    services.tenant_grant_delete(grant=grant)
    assert not TenantGrant.objects.filter(user=alice).exists()


def test_apikey_rename_changes_the_name_only(alice):
    key, _ = services.apikey_issue(alice, "ci")
    services.apikey_rename(key=key, name="deploys")
    stored = ApiKey.objects.get(pk=key.pk)
    assert (stored.name, stored.key_hash, stored.prefix) == ("deploys", key.key_hash, key.prefix)
    services.apikey_delete(key=key)
    assert not ApiKey.objects.filter(pk=key.pk).exists()
