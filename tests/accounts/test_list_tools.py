"""What staff work with on the browse lists: page sizes and positions, filter chips, saved filters, bulk actions."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import Account, AccountHistory, StatusChange
from cmsportal.identity.models import TenantGrant
from cmsportal.models import SavedFilter
from tests.factories import AccountFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff():
    user = UserFactory(username="staff", is_staff=True, view_all=True)
    user.user_permissions.add(Permission.objects.get(codename="change_account"))
    return client_for(user)


@pytest.fixture
def sixty():
    customer = CustomerFactory(rcn="RCN-100-100-100", name="Acme Widgets")
    return [
        AccountFactory(customer=customer, type="CLOUD", account_id=f"{n:04d}", status="Active", tenant_id=f"t{n % 2}")
        for n in range(60)
    ]


def keys(response) -> list[str]:
    return [a.key for a in response.context["rows"]]


# --- page size and position ----------------------------------------------------------------------


@pytest.mark.parametrize("size, shown", [("25", 25), ("100", 60), ("250", 60), ("7", 50), ("²5", 50), ("", 50)])
def test_page_size_is_one_of_the_offered_sizes(staff, sixty, size, shown):
    response = staff.get("/accounts/", {"size": size})
    assert len(response.context["rows"]) == shown


def test_range_follows_the_pages(staff, sixty):
    first = staff.get("/accounts/", {"size": "25"})
    assert "1–25</strong> of <strong" in first.content.decode()
    assert first.context["next_at"] == 26
    second = staff.get("/accounts/", {"size": "25", "after": first.context["next_cursor"], "at": "26"})
    assert keys(second)[0] == "CLOUD/0025"
    assert "26–50</strong> of" in second.content.decode()
    third = staff.get("/accounts/", {"size": "25", "after": second.context["next_cursor"], "at": "51"})
    assert "51–60</strong> of" in third.content.decode()
    back = staff.get("/accounts/", {"size": "25", "before": third.context["prev_cursor"], "at": "26"})
    assert keys(back) == keys(second)
    # A position without a cursor is the first page whatever it says.
    assert "1–25</strong>" in staff.get("/accounts/", {"size": "25", "at": "40"}).content.decode()


def test_page_size_links_keep_the_filters_and_restart_paging(staff, sixty):
    body = staff.get("/accounts/", {"tenantId": "t1", "after": "x", "at": "9"}).content.decode()
    assert 'href="?tenantId=t1&amp;size=100"' in body


# --- chips ---------------------------------------------------------------------------------------


def test_every_active_filter_is_a_chip_that_removes_it(staff, sixty):
    response = staff.get("/accounts/", {"tenantId": "t1", "status": "Active", "sort": "-status"})
    chips = {(c.label, c.value): c.remove_url for c in response.context["chips"]}
    assert chips == {
        ("Tenant id", "t1"): "?status=Active&sort=-status",
        ("Status", "Active"): "?tenantId=t1&sort=-status",
    }
    chip = '<span class="visually-hidden">Remove filter </span>Tenant id: <strong>t1</strong>'
    assert chip in response.content.decode()
    assert staff.get("/accounts/").context["chips"] == []


def test_customer_name_beside_every_rcn_and_tenant_is_a_link(staff, sixty):
    body = staff.get("/accounts/").content.decode()
    assert body.count('data-testid="customer-name">Acme Widgets<') == 50
    assert 'href="/accounts/?tenantId=t1"' in body


# --- saved filters -------------------------------------------------------------------------------


def test_save_apply_replace_and_delete_a_filter(staff, sixty):
    response = staff.post(
        "/saved-filters/",
        {"list": "accounts:account_list", "name": "Tenant one", "query": "tenantId=t1&after=abc&at=51&status="},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/?tenantId=t1"
    saved = SavedFilter.objects.get()
    assert (saved.name, saved.query) == ("Tenant one", "tenantId=t1")
    listed = staff.get("/accounts/")
    assert [s.name for s in listed.context["saved_filters"]] == ["Tenant one"]
    assert 'href="/accounts/?tenantId=t1">Tenant one</a>' in listed.content.decode()
    # The same name again replaces the filters.
    staff.post("/saved-filters/", {"list": "accounts:account_list", "name": "Tenant one", "query": "tenantId=t0"})
    assert SavedFilter.objects.get().query == "tenantId=t0"
    assert staff.post(f"/saved-filters/{saved.pk}/delete/").status_code == 302
    assert not SavedFilter.objects.exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "", "query": "tenantId=t1"}, "Give the filter a name."),
        ({"name": "x" * 101, "query": "tenantId=t1"}, "at most 100 characters"),
        ({"name": "Nothing", "query": "after=abc"}, "Apply at least one filter"),
    ],
)
def test_bad_saves_are_messages(staff, data, message):
    response = staff.post("/saved-filters/", {"list": "accounts:account_list", **data}, follow=True)
    assert message in response.content.decode()
    assert not SavedFilter.objects.exists()


def test_saved_filters_are_per_person(staff, sixty):
    other = UserFactory(username="other", view_all=True)
    theirs = SavedFilter.objects.create(user=other, list_name="accounts:account_list", name="Theirs", query="a=1")
    assert staff.get("/accounts/").context["saved_filters"] == []
    staff.post(f"/saved-filters/{theirs.pk}/delete/")
    assert SavedFilter.objects.filter(pk=theirs.pk).exists()
    assert staff.post("/saved-filters/", {"list": "elsewhere", "name": "x", "query": "a=1"}).status_code == 302
    assert SavedFilter.objects.count() == 1


# --- bulk actions --------------------------------------------------------------------------------


def test_bulk_status_change_is_confirmed_then_goes_through_the_services(staff, sixty):
    chosen = ["CLOUD/0001", "CLOUD/0002", "CLOUD/0003"]
    start = staff.post("/accounts/bulk/", {"selected": chosen, "action": "status", "start": "1", "back": "?size=25"})
    assert start.status_code == 200
    body = start.content.decode()
    assert all(f"<code>{key}</code>" in body for key in chosen)
    assert "form-errors" not in body
    confirm = staff.post(
        "/accounts/bulk/", {"selected": chosen, "action": "status", "status": "Suspended", "back": "?size=25"}
    )
    assert confirm.context["confirming"]
    assert confirm.context["changes"] == [f"{key}: status: Active → Suspended" for key in chosen]
    assert not Account.objects.filter(status="Suspended").exists()
    done = staff.post(
        "/accounts/bulk/",
        {"selected": chosen, "action": "status", "status": "Suspended", "back": "?size=25", "confirm": "yes"},
    )
    assert done.status_code == 302
    assert done["Location"] == "/accounts/?size=25"
    changed = Account.objects.filter(status="Suspended")
    assert sorted(a.key for a in changed) == chosen
    assert all(a.last_updated_by == "staff" for a in changed)
    assert StatusChange.objects.filter(account__in=changed, status="Suspended").count() == 3
    assert AccountHistory.objects.filter(account__in=changed, change_type="LEGACY_ACCOUNT_STATUS").count() == 3


def test_bulk_collections_change(staff, sixty):
    chosen = ["CLOUD/0004", "CLOUD/0005"]
    data = {"selected": chosen, "action": "collections", "collections_status": "WRITTEN_OFF", "confirm": "yes"}
    assert staff.post("/accounts/bulk/", data).status_code == 302
    assert sorted(a.key for a in Account.objects.filter(collections_status="WRITTEN_OFF")) == chosen


def test_bulk_csv_of_the_selection(staff, sixty):
    response = staff.post("/accounts/bulk/", {"selected": ["CLOUD/0009", "CLOUD/0007"], "action": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:2] == ["type", "id"]
    assert [row[1] for row in rows[1:]] == ["0007", "0009"]


def test_bulk_actions_see_only_visible_accounts_and_need_the_permission(sixty):
    tenant = UserFactory(username="tenant")
    TenantGrant.objects.create(user=tenant, tenant_id="t1")
    client = client_for(tenant)
    response = client.post("/accounts/bulk/", {"selected": ["CLOUD/0001", "CLOUD/0002"], "action": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[1] for row in rows[1:]] == ["0001"]  # 0002 is tenant t0's: left out as if it did not exist
    data = {"selected": ["CLOUD/0001"], "action": "status", "status": "Closed", "confirm": "yes"}
    assert client.post("/accounts/bulk/", data).status_code == 403
    assert not Account.objects.filter(status="Closed").exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"selected": [], "action": "status"}, "Select at least one account first."),
        ({"selected": ["CLOUD/none"], "action": "status"}, "Select at least one account first."),
        ({"selected": ["CLOUD/0001"], "action": "explode"}, "Choose what to do with the selected accounts."),
        ({"selected": [f"CLOUD/{n}" for n in range(251)], "action": "csv"}, "Select at most 250 accounts"),
    ],
)
def test_bulk_refusals_are_messages_on_the_list(staff, sixty, data, message):
    response = staff.post("/accounts/bulk/", {**data, "back": "https://evil.example/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/"
    assert message in response.content.decode()


def test_list_offers_bulk_status_only_to_those_who_may_change(sixty):
    viewer = client_for(UserFactory(username="viewer", view_all=True))
    body = viewer.get("/accounts/").content.decode()
    assert 'value="csv"' in body
    assert 'value="status"' not in body
