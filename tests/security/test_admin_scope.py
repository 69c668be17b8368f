"""The admin as a tenant-scoped member of staff: the probe's findings, one by one (the matrix covers them all)."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import Customer
from cmsportal.identity import services as identity
from contacts.models import AccountContact
from metadata.models import Metadata
from tests.admin_helpers import changeform_data
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    CustomerFactory,
    TenantGrantFactory,
    UserFactory,
)


@pytest.fixture
def world(db):
    mine = AccountFactory(account_id="4100001", tenant_id="t-mine", customer=CustomerFactory(rcn="RCN-101-000-001"))
    hidden = AccountFactory(account_id="7319953", tenant_id="t-hidden", customer=CustomerFactory(rcn="RCN-913-000-913"))
    # A hidden account of one's own customer.
    hidden_sibling = AccountFactory(account_id="7319954", tenant_id="t-hidden", customer=mine.customer)
    shared = AccountContactFactory(account=mine, roles=["TECHNICAL"]).contact
    AccountContactFactory(account=hidden_sibling, contact=shared, roles=["BILLING"])
    clerk = UserFactory(username="clerk", is_staff=True)
    TenantGrantFactory(user=clerk, tenant_id="t-mine")
    apps = ("accounts", "contacts", "metadata", "identity")
    clerk.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=apps).exclude(codename="view_all_accounts")
    )
    return {"mine": mine, "hidden": hidden, "sibling": hidden_sibling, "shared": shared, "clerk": clerk}


@pytest.fixture
def clerk_client(client, world):
    client.force_login(world["clerk"])
    return client


def test_metadata_add_on_a_hidden_account_is_refused_like_a_missing_one(clerk_client, world):
    url = reverse("admin:metadata_metadata_add")
    answers = {}
    for pk in (world["hidden"].pk, world["hidden"].pk + 1000):
        response = clerk_client.post(url, {"account": pk, "key": "support:level", "value": "gold"})
        answers[pk] = (response.status_code, response.context["adminform"].form.errors.get("account"))
    assert answers[world["hidden"].pk] == answers[world["hidden"].pk + 1000]
    assert answers[world["hidden"].pk][0] == 200
    assert not Metadata.objects.filter(account=world["hidden"]).exists()


def test_customers_are_seen_and_counted_through_visible_accounts(clerk_client, world):
    response = clerk_client.get(reverse("admin:accounts_customer_changelist"))
    rows = {customer.rcn: customer.account_count for customer in response.context["cl"].result_list}
    assert rows == {"RCN-101-000-001": 1}
    page = clerk_client.get(reverse("admin:accounts_customer_change", args=[world["mine"].customer.pk]))
    assert b"7319954" not in page.content and b"4100001" in page.content
    autocomplete = clerk_client.get(
        "/admin/autocomplete/",
        {"app_label": "accounts", "model_name": "account", "field_name": "customer", "term": "RCN"},
    )
    assert [item["text"].split()[0] for item in autocomplete.json()["results"]] == ["RCN-101-000-001"]


def test_a_hidden_customer_cannot_be_renamed(clerk_client, world):
    hidden = world["hidden"].customer
    response = clerk_client.post(reverse("admin:accounts_customer_change", args=[hidden.pk]), {"name": "Renamed"})
    missing = clerk_client.post(reverse("admin:accounts_customer_change", args=[hidden.pk + 1000]), {"name": "x"})
    assert (
        (response.status_code, response["Location"]) == (missing.status_code, missing["Location"]) == (302, "/admin/")
    )
    assert Customer.objects.get(pk=hidden.pk).name != "Renamed"


def test_contact_page_shows_and_keeps_only_places_on_visible_accounts(clerk_client, world):
    url = reverse("admin:contacts_contact_change", args=[world["shared"].pk])
    page = clerk_client.get(url)
    assert b"7319954" not in page.content
    response = clerk_client.post(url, changeform_data(page))
    assert response.status_code == 302
    # The place on the hidden account is untouched by a save of the page.
    assert AccountContact.objects.filter(contact=world["shared"], account=world["sibling"]).exists()


def test_tokens_and_keys_of_others_are_out_of_view_and_keys_only_for_oneself(clerk_client, world):
    other = UserFactory(username="zyxowner")
    identity.token_issue(other, [identity.PASSWORD])
    identity.apikey_issue(other, "other's key")
    for name in ("admin:identity_token_changelist", "admin:identity_apikey_changelist"):
        assert b"zyxowner" not in clerk_client.get(reverse(name)).content
    assert clerk_client.get(reverse("admin:identity_tenantgrant_changelist")).status_code == 403
    response = clerk_client.post(reverse("admin:identity_apikey_add"), {"user": other.pk, "name": "mine now"})
    assert response.status_code == 200 and response.context["adminform"].form.errors["user"]
    assert not identity.can_issue_apikey(world["clerk"], other)


def test_staff_pages_filters_see_visible_accounts_only(client, world):
    user = UserFactory(username="tenant")
    TenantGrantFactory(user=user, tenant_id="t-mine")
    client.force_login(user)
    assert client.get("/contacts/", {"role": "BILLING"}).context["rows"] == []
    assert client.get("/contacts/export.csv", {"role": "BILLING"}).getvalue().decode().count("\n") == 1
    assert client.get("/customers/", {"accountType": "CLOUD"}).context["rows"] == [world["mine"].customer]
    world["sibling"].type = "MANAGED_HOSTING"
    world["sibling"].save()
    assert client.get("/customers/", {"accountType": "MANAGED_HOSTING"}).context["rows"] == []
    assert client.get("/customers/export.csv", {"accountType": "MANAGED_HOSTING"}).getvalue() == b"rcn,name\r\n"
