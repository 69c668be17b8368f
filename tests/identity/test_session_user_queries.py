"""A signed-in page reads its user and the user's scope in one query, and its permissions in one more."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cmsportal.identity.access import can_view_all
from cmsportal.identity.backends import LimitedModelBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _permission(codename):
    return Permission.objects.get(codename=codename)


@pytest.mark.parametrize("how", ["direct", "group", "none"])
def test_session_user_carries_the_view_all_answer(how):
    user = UserFactory(username=f"viewer-{how}")
    if how == "direct":
        user.user_permissions.add(_permission("view_all_accounts"))
    elif how == "group":
        group = Group.objects.create(name="viewers")
        group.permissions.add(_permission("view_all_accounts"))
        user.groups.add(group)
    with CaptureQueriesContext(connection) as captured:
        loaded = LimitedModelBackend().get_user(user.pk)
        assert can_view_all(loaded) is (how != "none")
    assert len(captured.captured_queries) == 1


def test_inactive_or_missing_user_is_not_loaded():
    user = UserFactory(username="gone", is_active=False)
    assert LimitedModelBackend().get_user(user.pk) is None
    assert LimitedModelBackend().get_user(user.pk + 1000) is None


def test_the_session_holds_the_key_as_text_and_any_other_text_is_no_user():
    user = UserFactory(username="texted")
    other = UserFactory(username="other")
    # Sessions keep the key as a string; the query compiled once answers each user with its own row.
    assert LimitedModelBackend().get_user(str(user.pk)).username == "texted"
    assert LimitedModelBackend().get_user(str(other.pk)).username == "other"
    assert LimitedModelBackend().get_user(user.pk).username == "texted"
    for garbage in ("", "abc", "1; DROP TABLE auth_user", "9" * 40, None):
        assert LimitedModelBackend().get_user(garbage) is None


def test_permissions_are_the_users_and_its_groups_in_one_query():
    user = UserFactory(username="editor")
    user.user_permissions.add(_permission("change_account"))
    group = Group.objects.create(name="metadata editors")
    group.permissions.add(_permission("add_metadata"))
    user.groups.add(group)
    UserFactory(username="other").user_permissions.add(_permission("delete_metadata"))
    loaded = LimitedModelBackend().get_user(user.pk)
    with CaptureQueriesContext(connection) as captured:
        assert loaded.has_perm("accounts.change_account")
        assert loaded.has_perm("metadata.add_metadata")
        assert not loaded.has_perm("metadata.delete_metadata")
    assert len(captured.captured_queries) == 1
    assert loaded.get_all_permissions() == {"accounts.change_account", "metadata.add_metadata"}
