"""Tenant grant admin: search by user or tenant, add grants, bounded changelist queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cmsportal.identity.access import visible_accounts
from cmsportal.identity.models import TenantGrant
from tests.factories import AccountFactory, TenantGrantFactory, UserFactory

CHANGELIST = reverse("admin:identity_tenantgrant_changelist")


@pytest.fixture
def client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def rows(response):
    return sorted((grant.user.username, grant.tenant_id) for grant in response.context["cl"].result_list)


def test_search_by_username_and_tenant(client):
    TenantGrantFactory(user=UserFactory(username="alice"), tenant_id="hybrid:5342823")
    TenantGrantFactory(user=UserFactory(username="bob"), tenant_id="10101")
    assert rows(client.get(CHANGELIST, {"q": "alice"})) == [("alice", "hybrid:5342823")]
    assert rows(client.get(CHANGELIST, {"q": "10101"})) == [("bob", "10101")]
    assert rows(client.get(CHANGELIST, {"q": "bob@example.com"})) == [("bob", "10101")]


def test_changelist_queries_do_not_grow(client):
    TenantGrantFactory()
    client.get(CHANGELIST)
    with CaptureQueriesContext(connection) as few:
        client.get(CHANGELIST)
    for _ in range(10):
        TenantGrantFactory()
    with CaptureQueriesContext(connection) as many:
        response = client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == 11
    assert len(many) == len(few)


def test_adding_a_grant_lets_the_user_see_the_tenant(client):
    AccountFactory(account_id="10101")
    user = UserFactory(username="carol")
    assert not visible_accounts(user).exists()
    response = client.post(reverse("admin:identity_tenantgrant_add"), {"user": user.pk, "tenant_id": "10101"})
    assert response.status_code == 302
    assert TenantGrant.objects.get(user=user).tenant_id == "10101"
    assert [a.account_id for a in visible_accounts(user)] == ["10101"]
    duplicate = client.post(reverse("admin:identity_tenantgrant_add"), {"user": user.pk, "tenant_id": "10101"})
    assert duplicate.status_code == 200 and TenantGrant.objects.filter(user=user).count() == 1
