"""What one authenticated API call costs in queries, and that making it cheap changed no decision.

Authentication and the caller's scope (all accounts, or the granted tenants') come from one query; an
account GET is that query plus the account's own.
"""

import pytest
from django.contrib.auth.models import Group, Permission

from cmsportal.identity import services as identity
from tests.auth_cost import authentication_queries
from tests.factories import AccountFactory, TenantGrantFactory, UserFactory

from .conftest import client_for

pytestmark = pytest.mark.django_db

ACCOUNT = "/v1/customer_accounts/CLOUD/1"


@pytest.fixture
def accounts():
    return AccountFactory(account_id="1", tenant_id="t-1"), AccountFactory(account_id="2", tenant_id="t-2")


def view_all_group():
    group = Group.objects.create(name="viewers")
    group.permissions.add(Permission.objects.get(codename="view_all_accounts"))
    return group


def staff_by_group():
    user = UserFactory(username="by-group")
    user.groups.add(view_all_group())
    return user


def tenant_user():
    user = UserFactory(username="tenant-1")
    TenantGrantFactory(user=user, tenant_id="t-1")
    return user


USERS = {
    "permission": lambda: UserFactory(username="direct", view_all=True),
    "group": staff_by_group,
    "superuser": lambda: UserFactory(username="root", is_superuser=True),
    "tenant": tenant_user,
}


@pytest.mark.parametrize("remembered", [True, False], ids=["tokens remembered", "tokens not remembered"])
@pytest.mark.parametrize("kind", USERS)
def test_account_get_is_one_query_after_authentication(accounts, kind, remembered, settings, django_assert_num_queries):
    if not remembered:
        settings.CMS_TOKEN_CACHE_SECONDS = 0
    client = client_for(USERS[kind]())
    client.get(ACCOUNT)  # the first use of a token records its last-used time
    # Authentication: token + user + view permission in one query, or none for a remembered token; then the account.
    with django_assert_num_queries(authentication_queries() + 1):
        assert client.get(ACCOUNT).status_code == 200


@pytest.mark.parametrize("kind", ["permission", "group", "superuser"])
def test_global_viewers_see_every_tenant(accounts, kind):
    client = client_for(USERS[kind]())
    assert client.get("/v1/customer_accounts/CLOUD/2").status_code == 200
    assert [a["id"] for a in client.get("/v1/customer_accounts").json()["customerAccount"]] == ["1", "2"]


def test_tenant_users_see_only_their_tenant(accounts):
    client = client_for(tenant_user())
    assert client.get("/v1/customer_accounts/CLOUD/2").status_code == 404
    assert [a["id"] for a in client.get("/v1/customer_accounts").json()["customerAccount"]] == ["1"]


def test_user_without_permission_or_grant_sees_nothing(accounts):
    client = client_for(UserFactory(username="nobody"))
    assert client.get(ACCOUNT).status_code == 404
    assert client.get("/v1/customer_accounts").json()["customerAccount"] == []


def test_withdrawn_permission_applies_on_the_next_call(accounts):
    user = staff_by_group()
    client = client_for(user)
    assert client.get("/v1/customer_accounts/CLOUD/2").status_code == 200
    user.groups.clear()
    assert client.get("/v1/customer_accounts/CLOUD/2").status_code == 404


def test_revoked_token_is_refused_on_the_next_call(accounts):
    user = UserFactory(username="direct", view_all=True)
    token, plaintext = identity.token_issue(user, [identity.PASSWORD])
    client = client_for(user)
    client.credentials(HTTP_X_AUTH_TOKEN=plaintext)
    assert client.get(ACCOUNT).status_code == 200
    identity.token_revoke(token)
    assert client.get(ACCOUNT).status_code == 401


def test_deactivated_user_is_refused_on_the_next_call(accounts):
    user = UserFactory(username="direct", view_all=True)
    client = client_for(user)
    assert client.get(ACCOUNT).status_code == 200
    user.is_active = False
    user.save()
    assert client.get(ACCOUNT).status_code == 401


def test_session_users_are_decided_by_the_permission_backend(accounts, client):
    user = staff_by_group()
    client.force_login(user)
    assert client.get("/v1/customer_accounts/CLOUD/2").status_code == 200
    other = tenant_user()
    client.force_login(other)
    assert client.get("/v1/customer_accounts/CLOUD/2").status_code == 404


def test_token_lookup_reads_like_the_orm():
    """The precompiled token query answers what the ORM would: converted values, the user, the permission."""
    user = staff_by_group()
    token, plaintext = identity.token_issue(user, [identity.PASSWORD, identity.APIKEY])
    found = identity.token_lookup(plaintext)
    assert found.pk == token.pk
    assert found.authenticated_by == ["PASSWORD", "APIKEY"]  # JSON decoded by the field's converter
    assert found.expires == token.expires and found.expires.tzinfo is not None
    assert found.user == user and found.user.username == "by-group"
    assert found.user_view_all is True
    assert identity.token_lookup(plaintext + "x") is None


def test_a_placeholder_that_does_not_reach_the_sql_is_refused():
    from accounts.models import Account
    from cmsportal.api.precompiled import PrecompiledQuery

    query = PrecompiledQuery(lambda name: Account.objects.filter(name__contains=name), Account, placeholders=["\x00n"])
    with pytest.raises(ValueError, match="does not reach the SQL"):
        query.fetch("x")
