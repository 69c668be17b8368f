"""The home page: one search box, the records the user opened lately, the footer's admin link, the favicon."""

import re

import pytest
from django.test import Client

from cmsportal import pages
from cmsportal.models import RecentView
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    ContactFactory,
    CustomerFactory,
    StaffFactory,
    TenantGrantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def recent_links(body: str, kind: str) -> list[str]:
    """The hrefs of the home page's recently viewed `kind` (customers, accounts, contacts), in order."""
    match = re.search(rf'data-testid="recent-{kind}">(.*?)</section>', body, re.S)
    return re.findall(r'<a href="([^"]+)" data-testid="recent-item"', match.group(1)) if match else []


@pytest.fixture
def records():
    acme = CustomerFactory(rcn="RCN-100-200-300", name="Acme Widgets")
    globex = CustomerFactory(rcn="RCN-400-500-600", name="Globex Corporation")
    cloud = AccountFactory(customer=acme, type="CLOUD", account_id="5342823", name="Acme Cloud", tenant_id="5342823")
    other = AccountFactory(customer=globex, type="CLOUD", account_id="6060606", name="Globex Cloud", tenant_id="606")
    wile = ContactFactory(contact_number="RPN-111-222-333", customer=acme, first_name="Wile", last_name="Coyote")
    AccountContactFactory(account=cloud, contact=wile)
    hank = ContactFactory(contact_number="RPN-444-555-666", customer=globex, first_name="Hank", last_name="Scorpio")
    AccountContactFactory(account=other, contact=hank)
    return {"acme": acme, "globex": globex, "cloud": cloud, "other": other, "wile": wile, "hank": hank}


# --- one search box ---------------------------------------------------------------------------------------------


def test_home_page_has_one_search_box():
    body = signed_in(StaffFactory()).get("/").content.decode()
    assert body.count('role="search"') == 1
    assert body.count('type="search"') == 1
    assert 'id="home-search"' in body and 'id="site-search"' not in body


def test_other_pages_keep_the_header_search_box():
    body = signed_in(StaffFactory()).get("/accounts/").content.decode()
    assert body.count('role="search"') == 1 and 'id="site-search"' in body


# --- recently viewed ---------------------------------------------------------------------------------------------


def test_detail_pages_record_what_the_user_viewed_newest_first(records):
    client = signed_in(StaffFactory())
    assert 'data-testid="recently-viewed"' not in client.get("/").content.decode()
    for path in (
        "/customers/RCN-100-200-300/",
        "/accounts/CLOUD/5342823/",
        "/contacts/RPN-111-222-333/",
        "/customers/RCN-400-500-600/",
        "/accounts/CLOUD/6060606/",
        "/customers/RCN-100-200-300/",  # seen again: moves to the top, not listed twice
    ):
        assert client.get(path).status_code == 200
    body = client.get("/").content.decode()
    assert 'data-testid="recently-viewed"' in body
    assert recent_links(body, "customers") == ["/customers/RCN-100-200-300/", "/customers/RCN-400-500-600/"]
    assert recent_links(body, "accounts") == ["/accounts/CLOUD/6060606/", "/accounts/CLOUD/5342823/"]
    assert recent_links(body, "contacts") == ["/contacts/RPN-111-222-333/"]
    # With their names.
    assert "Acme Widgets" in body and "Globex Cloud" in body and "Wile Coyote" in body


def test_recently_viewed_is_per_user(records):
    alice, bob = StaffFactory(username="alice"), StaffFactory(username="bob")
    signed_in(alice).get("/accounts/CLOUD/5342823/")
    assert recent_links(signed_in(alice).get("/").content.decode(), "accounts") == ["/accounts/CLOUD/5342823/"]
    assert 'data-testid="recently-viewed"' not in signed_in(bob).get("/").content.decode()


def test_recently_viewed_is_bounded_per_kind(records):
    user = StaffFactory()
    client = signed_in(user)
    customer = records["acme"]
    accounts = [AccountFactory(customer=customer, type="CLOUD", account_id=str(900 + i)) for i in range(15)]
    for account in accounts:
        client.get(account.get_absolute_url())
    client.get("/customers/RCN-100-200-300/")
    assert RecentView.objects.filter(user=user, kind="account").count() == pages.RECENT_PER_KIND
    assert RecentView.objects.filter(user=user, kind="customer").count() == 1
    shown = recent_links(client.get("/").content.decode(), "accounts")
    assert shown == [a.get_absolute_url() for a in reversed(accounts)][: pages.RECENT_PER_KIND]


def test_recently_viewed_leaves_out_what_the_user_can_no_longer_see(records):
    user = UserFactory(username="tenant")
    grant = TenantGrantFactory(user=user, tenant_id="5342823")
    TenantGrantFactory(user=user, tenant_id="606")
    client = signed_in(user)
    for path in ("/accounts/CLOUD/5342823/", "/accounts/CLOUD/6060606/", "/contacts/RPN-444-555-666/"):
        assert client.get(path).status_code == 200
    body = client.get("/").content.decode()
    assert recent_links(body, "accounts") == ["/accounts/CLOUD/6060606/", "/accounts/CLOUD/5342823/"]
    assert recent_links(body, "contacts") == ["/contacts/RPN-444-555-666/"]

    grant.delete()  # no longer sees Acme's account
    TenantGrantFactory(user=user, tenant_id="elsewhere")
    user.tenant_grants.filter(tenant_id="606").delete()  # nor Globex's (nor, with it, Hank)
    body = client.get("/").content.decode()
    assert 'data-testid="recently-viewed"' not in body
    assert "5342823" not in body and "6060606" not in body and "Scorpio" not in body


def test_a_page_the_user_may_not_see_is_not_recorded(records):
    user = UserFactory(username="tenant")
    TenantGrantFactory(user=user, tenant_id="5342823")
    client = signed_in(user)
    assert client.get("/accounts/CLOUD/6060606/").status_code == 404
    assert not RecentView.objects.filter(user=user).exists()


def test_a_deleted_record_drops_out(records):
    client = signed_in(StaffFactory())
    client.get("/contacts/RPN-444-555-666/")
    records["hank"].delete()
    assert recent_links(client.get("/").content.decode(), "contacts") == []


def test_home_page_query_budget(records, django_assert_max_num_queries):
    client = signed_in(StaffFactory())
    for path in ("/customers/RCN-100-200-300/", "/accounts/CLOUD/5342823/", "/contacts/RPN-111-222-333/"):
        client.get(path)
    # session and user, the user's permissions (two), the recent rows, one query per kind
    with django_assert_max_num_queries(8):
        client.get("/")


# --- footer and favicon ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({"is_staff": True}, True),
        ({"is_staff": True, "is_superuser": True}, True),
        ({"is_staff": False, "view_all": True}, False),
        ({"is_staff": False}, False),
    ],
)
def test_the_administration_link_is_only_for_those_who_may_use_the_admin(fields, shown):
    user = UserFactory(**fields)
    body = signed_in(user).get("/").content.decode()
    assert ('href="/admin/"' in body) is shown
    assert ("Administration" in body) is shown


def test_no_administration_link_on_the_sign_in_page(client):
    assert "Administration" not in client.get("/login/").content.decode()


def test_pages_name_the_favicon(client):
    body = client.get("/login/").content.decode()
    assert re.search(r'<link rel="icon" href="/static/img/favicon\.svg" type="image/svg\+xml">', body)
    assert client.get("/static/img/favicon.svg").status_code == 200


def test_favicon_ico_is_answered_without_signing_in(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/img/favicon.svg"
    assert "max-age" in response["Cache-Control"]
    assert client.get("/favicon.ico", follow=True).status_code == 200


def test_a_failure_to_record_never_fails_the_page(records, monkeypatch):
    from django.db import DatabaseError

    def refuse(*args, **kwargs):
        raise DatabaseError("cannot execute INSERT in a read-only transaction")

    monkeypatch.setattr(RecentView.objects, "bulk_create", refuse)
    client = signed_in(StaffFactory())
    assert client.get("/accounts/CLOUD/5342823/").status_code == 200
    assert client.get("/").status_code == 200
