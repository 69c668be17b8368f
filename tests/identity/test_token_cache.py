"""Remembered tokens (cmsportal/identity/tokencache.py): no query for a token a worker already checked, and
every change a token's validity or its user's reach depends on, committed by another process, takes effect
on the next call.

The changes below are made through a connection of their own, as another worker, the admin of another
server or a psql session would make them: the only way this process can learn of them is the database's
notification. Before each change the test shows that the token was being served from memory (no query
of the token table), so the answer after the change can only come from that notification.
"""

import select
import time
from datetime import timedelta

import psycopg
import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cmsportal import dates
from cmsportal.identity import services, tokencache
from cmsportal.identity.models import Token
from tests.factories import AccountFactory, UserFactory

from .helpers import WHOAMI

pytestmark = [pytest.mark.postgres, pytest.mark.urls("tests.identity.urls")]

VIEW_ALL = {"codename": "view_all_accounts", "content_type__app_label": "identity"}


def other_process(sql: str, params: dict) -> None:
    """Run `sql` on a connection of its own and commit it."""
    with psycopg.connect(**tokencache.connection_params("cmsportal tests")) as conn:
        conn.execute(sql, params)


def notification_pending(timeout: float) -> bool:
    """Whether the cache's listening connection has something to read within `timeout` seconds."""
    listener = tokencache.cache._listener
    assert listener is not None, "the cache is not listening"
    readable, _, _ = select.select([listener.pgconn.socket], [], [], timeout)
    return bool(readable)


def token_queries(api, path: str, token: str) -> tuple[int, int]:
    """(status, queries of the token table) of one call."""
    with CaptureQueriesContext(connection) as queries:
        status = api.get(path, HTTP_X_AUTH_TOKEN=token).status_code
    return status, sum("identity_token" in query["sql"] for query in queries.captured_queries)


def reach(user_kind: str):
    """A user whose reach over every account comes from `user_kind`, and a user with none."""
    user = UserFactory(username=f"holder-{user_kind}", is_superuser=user_kind == "superuser")
    permission = Permission.objects.get(**VIEW_ALL)
    if user_kind == "direct":
        user.user_permissions.add(permission)
    elif user_kind == "group":
        group = Group.objects.create(name="everything")
        group.permissions.add(permission)
        user.groups.add(group)
    return user, UserFactory(username="nobody")


# (what changes, how the user's reach is granted, the change in SQL, status before, status after).
# %(user)s is the token's user, %(other)s a user without reach, %(hash)s the token's key hash, %(content_type)s
# the view permission's content type.
CHANGES = [
    ("token revoked", "direct", "UPDATE identity_token SET revoked_at = now() WHERE key_hash = %(hash)s", 200, 401),
    (
        "token expired early",
        "direct",
        "UPDATE identity_token SET expires = now() - interval '1 second' WHERE key_hash = %(hash)s",
        200,
        401,
    ),
    ("token deleted", "direct", "DELETE FROM identity_token WHERE key_hash = %(hash)s", 200, 401),
    (
        "token moved to another user",
        "direct",
        "UPDATE identity_token SET user_id = %(other)s WHERE key_hash = %(hash)s",
        200,
        404,
    ),
    ("user deactivated", "direct", "UPDATE auth_user SET is_active = false WHERE id = %(user)s", 200, 401),
    (
        "superuser flag withdrawn",
        "superuser",
        "UPDATE auth_user SET is_superuser = false WHERE id = %(user)s",
        200,
        404,
    ),
    ("superuser flag granted", "none", "UPDATE auth_user SET is_superuser = true WHERE id = %(user)s", 404, 200),
    (
        "permission withdrawn",
        "direct",
        "DELETE FROM auth_user_user_permissions WHERE user_id = %(user)s",
        200,
        404,
    ),
    (
        "permission granted",
        "none",
        "INSERT INTO auth_user_user_permissions (user_id, permission_id) SELECT %(user)s, p.id FROM auth_permission p "
        "JOIN django_content_type t ON t.id = p.content_type_id "
        "WHERE p.codename = 'view_all_accounts' AND t.app_label = 'identity'",
        404,
        200,
    ),
    ("group's permission withdrawn", "group", "DELETE FROM auth_group_permissions", 200, 404),
    ("removed from the group", "group", "DELETE FROM auth_user_groups WHERE user_id = %(user)s", 200, 404),
    (
        "permission renamed",
        "direct",
        "UPDATE auth_permission SET codename = 'renamed' WHERE codename = 'view_all_accounts'",
        200,
        404,
    ),
    (
        "permission's content type renamed",
        "direct",
        "UPDATE django_content_type SET app_label = 'renamed' WHERE id = %(content_type)s",
        200,
        404,
    ),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("change", "kind", "sql", "before", "after"), CHANGES, ids=[case[0] for case in CHANGES])
def test_a_change_committed_elsewhere_takes_effect_on_the_next_call(api, change, kind, sql, before, after):
    user, other = reach(kind)
    account = AccountFactory(tenant_id="not-granted")
    path = f"/v1/customer_accounts/{account.type}/{account.account_id}"
    _, token = services.token_issue(user, [services.PASSWORD])

    assert api.get(path, HTTP_X_AUTH_TOKEN=token).status_code == before
    assert token_queries(api, path, token) == (before, 0), "the token was not remembered"
    content_type = Permission.objects.get(**VIEW_ALL).content_type_id
    other_process(
        sql, {"user": user.pk, "other": other.pk, "hash": services.digest(token), "content_type": content_type}
    )
    assert notification_pending(5.0), "no notification arrived"
    status, looked_up = token_queries(api, path, token)
    assert status == after, change
    if after != 401:
        assert looked_up == 1  # checked anew, then remembered again
        assert token_queries(api, path, token) == (after, 0)


@pytest.mark.django_db(transaction=True)
def test_a_renamed_user_is_seen_under_the_new_name(api):
    user, _ = reach("direct")
    _, token = services.token_issue(user, [services.PASSWORD])
    assert api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token).json()["user"] == "holder-direct"
    other_process("UPDATE auth_user SET username = 'renamed' WHERE id = %(user)s", {"user": user.pk})
    assert notification_pending(5.0)
    assert api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token).json()["user"] == "renamed"


@pytest.mark.django_db(transaction=True)
def test_what_a_token_does_not_depend_on_changes_nothing(api):
    """Recording a sign-in or a token's last use, issuing another token: no notification, nothing forgotten."""
    user, _ = reach("direct")
    _, token = services.token_issue(user, [services.PASSWORD])
    assert api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token).status_code == 200
    other_process("UPDATE auth_user SET last_login = now() WHERE id = %(user)s", {"user": user.pk})
    other_process("UPDATE identity_token SET last_used = now()", {})
    services.token_issue(user, [services.PASSWORD])
    assert not notification_pending(0.3)
    assert token_queries(api, WHOAMI, token) == (200, 0)


@pytest.mark.django_db(transaction=True)
def test_a_lost_listening_connection_forgets_everything_until_it_listens_again(api, monkeypatch):
    monkeypatch.setattr(tokencache, "RETRY_SECONDS", 0.0)
    user, _ = reach("direct")
    _, token = services.token_issue(user, [services.PASSWORD])
    assert token_queries(api, WHOAMI, token) == (200, 2)  # the lookup, and recording the first use
    assert token_queries(api, WHOAMI, token) == (200, 0)

    def unreachable():
        raise psycopg.OperationalError("connection refused")

    connect = tokencache.cache._connect
    monkeypatch.setattr(tokencache.cache, "_connect", unreachable)
    pid = tokencache.cache._listener.info.backend_pid
    other_process("SELECT pg_terminate_backend(%(pid)s)", {"pid": pid})
    deadline = time.monotonic() + 5
    while token_queries(api, WHOAMI, token) != (200, 1):  # until the loss is noticed
        assert time.monotonic() < deadline, "the lost connection went unnoticed"
        time.sleep(0.05)
    # While it cannot listen, every call is checked with a query.
    assert [token_queries(api, WHOAMI, token) for _ in range(3)] == [(200, 1)] * 3
    # Listening again (a new connection): remembered anew.
    monkeypatch.setattr(tokencache.cache, "_connect", connect)
    assert token_queries(api, WHOAMI, token) == (200, 1)
    assert tokencache.cache._listener.info.backend_pid != pid
    assert token_queries(api, WHOAMI, token) == (200, 0)


@pytest.mark.django_db
def test_a_remembered_token_expires_on_time(api, monkeypatch):
    user, _ = reach("direct")
    issued, token = services.token_issue(user, [services.PASSWORD])
    assert token_queries(api, WHOAMI, token) == (200, 2)  # the lookup, and recording the first use
    assert token_queries(api, WHOAMI, token) == (200, 0)
    later = issued.expires + timedelta(seconds=1)
    monkeypatch.setattr(dates, "now", lambda: later)
    assert api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token).status_code == 401


@pytest.mark.django_db
def test_remembered_for_at_most_the_configured_time(api, settings):
    settings.CMS_TOKEN_CACHE_SECONDS = 0.2
    user, _ = reach("direct")
    _, token = services.token_issue(user, [services.PASSWORD])
    api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token)
    assert token_queries(api, WHOAMI, token) == (200, 0)
    time.sleep(0.3)
    assert token_queries(api, WHOAMI, token) == (200, 1)


@pytest.mark.django_db
def test_revoked_in_this_process_is_forgotten_before_the_commit(api):
    user, _ = reach("direct")
    issued, token = services.token_issue(user, [services.PASSWORD])
    api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token)
    assert token_queries(api, WHOAMI, token) == (200, 0)
    services.token_revoke(Token.objects.get(pk=issued.pk))
    assert api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(("seconds", "prepared"), [(0, True), (60, False)], ids=["seconds 0", "transaction pooler"])
def test_off_every_call_asks_the_database(api, settings, seconds, prepared):
    """CMS_TOKEN_CACHE_SECONDS=0, or a pooler in transaction mode (CMS_PREPARED_STATEMENTS=0): one query a call."""
    settings.CMS_TOKEN_CACHE_SECONDS = seconds
    settings.CMS_PREPARED_STATEMENTS = prepared
    user, _ = reach("direct")
    _, token = services.token_issue(user, [services.PASSWORD])
    api.get(WHOAMI, HTTP_X_AUTH_TOKEN=token)
    assert not tokencache.enabled()
    assert [token_queries(api, WHOAMI, token) for _ in range(3)] == [(200, 1)] * 3
