"""manage.py cms_apikey and cms_tokens."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cmsportal import dates
from cmsportal.identity import services
from cmsportal.identity.models import ApiKey, Token
from tests.factories import UserFactory

from .helpers import secrets_stored

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_cms_apikey_prints_a_working_key_once_and_stores_its_hash():
    alice = UserFactory(username="alice")
    out, err = run("cms_apikey", "alice", "--name", "billing system")
    plaintext = out.strip()
    assert "\n" not in plaintext and len(plaintext) >= 43
    assert plaintext not in err
    key = ApiKey.objects.get()
    assert (key.user, key.name, key.prefix) == (alice, "billing system", plaintext[:8])
    assert key.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in secrets_stored()
    assert services.apikey_check("alice", plaintext) == alice


def test_cms_apikey_revoke_by_prefix():
    UserFactory(username="alice")
    plaintext = run("cms_apikey", "alice")[0].strip()
    run("cms_apikey", "alice", "--revoke", plaintext[:8])
    assert ApiKey.objects.get().revoked_at is not None
    assert services.apikey_check("alice", plaintext) is None
    with pytest.raises(CommandError, match="no active API key"):
        run("cms_apikey", "alice", "--revoke", plaintext[:8])


def test_cms_apikey_refuses_unknown_and_inactive_users():
    with pytest.raises(CommandError, match="No user"):
        run("cms_apikey", "nobody")
    UserFactory(username="gone", is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        run("cms_apikey", "gone")
    assert not ApiKey.objects.exists()


def test_cms_tokens_purge_expired():
    alice = UserFactory(username="alice")
    live, _ = services.token_issue(alice, ["PASSWORD"])
    old, _ = services.token_issue(alice, ["PASSWORD"])
    Token.objects.filter(pk=old.pk).update(expires=dates.now() - timedelta(hours=1))
    out, _ = run("cms_tokens", "--purge-expired")
    assert "Deleted 1" in out
    assert list(Token.objects.all()) == [live]
    with pytest.raises(CommandError):
        run("cms_tokens")


@pytest.mark.django_db
def test_api_keys_never_start_like_a_command_line_option():
    user = UserFactory(username="bob")
    for n in range(50):
        _, plaintext = services.apikey_issue(user, f"key {n}")
        assert plaintext[0].isalnum() and len(plaintext) >= 43
