"""A user's API tokens end when the password changes, whichever way it changes, and when the user is deactivated."""

from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.core.management import call_command
from django.test import Client

from cmsportal.identity import services
from cmsportal.identity.models import Token
from tests.admin_helpers import changeform_data
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase for alice"


@pytest.fixture
def alice():
    return UserFactory(username="alice")


@pytest.fixture
def tokens(alice):
    """Two live tokens of alice's, and one of bob's that must outlive alice's change."""
    mine = [services.token_issue(alice, [services.PASSWORD])[1] for _ in range(2)]
    bob = UserFactory(username="bob")
    theirs = services.token_issue(bob, [services.PASSWORD])[1]
    return mine, theirs


def assert_revoked(tokens):
    mine, theirs = tokens
    assert all(services.token_authenticate(token) is None for token in mine)
    assert services.token_authenticate(theirs) is not None


def assert_live(tokens):
    mine, theirs = tokens
    assert all(services.token_authenticate(token) is not None for token in mine + [theirs])


@pytest.fixture
def admin_client_():
    root = get_user_model().objects.create_superuser("root", "root@example.com", "a long admin password")
    client = Client()
    client.force_login(root)
    return client


def test_set_password_and_save_revokes(alice, tokens):
    alice.set_password(NEW_PASSWORD)
    alice.save()
    assert_revoked(tokens)


def test_set_password_and_save_of_the_password_field_alone_revokes(alice, tokens):
    alice.set_password(NEW_PASSWORD)
    alice.save(update_fields=["password"])
    assert_revoked(tokens)


def test_an_unusable_password_revokes(alice, tokens):
    alice.set_unusable_password()
    alice.save()
    assert_revoked(tokens)


def test_admin_password_form_revokes(admin_client_, alice, tokens):
    response = admin_client_.post(
        f"/admin/auth/user/{alice.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert_revoked(tokens)


def test_changepassword_command_revokes(alice, tokens):
    prompt = "django.contrib.auth.management.commands.changepassword.getpass.getpass"
    with mock.patch(prompt, return_value=NEW_PASSWORD):
        call_command("changepassword", "alice", stdout=mock.MagicMock())
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert_revoked(tokens)


def test_password_change_form_revokes(alice, tokens):
    form = PasswordChangeForm(
        alice,
        {"old_password": "correct horse battery staple", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert form.is_valid(), form.errors
    form.save()
    assert_revoked(tokens)


def test_password_reset_form_revokes(alice, tokens):
    form = SetPasswordForm(alice, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert form.is_valid(), form.errors
    form.save()
    assert_revoked(tokens)


def test_deactivating_the_user_revokes(alice, tokens):
    alice.is_active = False
    alice.save()
    alice.is_active = True
    alice.save()  # coming back does not bring the old tokens back
    assert_revoked(tokens)


def test_deactivating_in_the_admin_revokes(admin_client_, alice, tokens):
    url = f"/admin/auth/user/{alice.pk}/change/"
    data = changeform_data(admin_client_.get(url))
    data.pop("is_active", None)
    joined = alice.date_joined
    data.update({"date_joined_0": f"{joined:%Y-%m-%d}", "date_joined_1": f"{joined:%H:%M:%S}"})  # a split widget
    response = admin_client_.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert not alice.is_active
    assert_revoked(tokens)


def test_other_saves_keep_the_tokens(alice, tokens, django_assert_num_queries):
    alice.first_name = "Alice"
    alice.save()
    with django_assert_num_queries(1):  # recording a sign-in asks nothing more than its own UPDATE
        alice.save(update_fields=["last_login"])
    assert_live(tokens)
    assert Token.objects.filter(revoked_at__isnull=False).count() == 0
