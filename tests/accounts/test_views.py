"""Staff pages of customers and accounts: sign-in, scoping, lists (filters, sorting, keyset pages, CSV),
detail pages, actions (permission, confirmation, CSRF, history) and query budgets."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Account, AccountHistory, RCNChange, StatusChange
from cmsportal import pages
from cmsportal.changes.choices import Action, ObjectType
from cmsportal.changes.services import change_record
from cmsportal.identity.access import Actor
from cmsportal.identity.models import TenantGrant
from tests.conftest import on_postgres
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    AccountHistoryFactory,
    CustomerFactory,
    MetadataFactory,
    RCNChangeFactory,
    StatusChangeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ACTOR = Actor("seed", "SYSTEM")


def grant(user, *codenames):
    for codename in codenames:
        app, name = codename.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=name))
    return user


def make_staff(username):
    """A member of staff who sees every account (the global view permission)."""
    return UserFactory(username=username, is_staff=True, view_all=True)


@pytest.fixture
def staff_user(db):
    return make_staff("staff")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def editor(db):
    user = make_staff("editor")
    return grant(user, "accounts.change_account", "accounts.change_customer")


@pytest.fixture
def editor_client(editor):
    client = Client()
    client.force_login(editor)
    return client


@pytest.fixture
def two_tenants():
    mine = CustomerFactory(rcn="RCN-100-000-001", name="Mine Inc")
    theirs = CustomerFactory(rcn="RCN-200-000-002", name="Theirs Ltd")
    account = services.account_create(actor=ACTOR, customer=mine, type="CLOUD", account_id="1001", tenant_id="t1")
    other = services.account_create(actor=ACTOR, customer=theirs, type="CLOUD", account_id="2002", tenant_id="t2")
    return {"mine": mine, "theirs": theirs, "account": account, "other": other}


@pytest.fixture
def tenant_client(two_tenants):
    user = grant(UserFactory(username="tenant1"), "accounts.change_account", "accounts.change_customer")
    TenantGrant.objects.create(user=user, tenant_id="t1")
    client = Client()
    client.force_login(user)
    return client


def rows_of(response):
    return list(response.context["rows"])


def csv_rows(response):
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


# --- sign-in -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/", "/customers/", "/accounts/", "/accounts/export.csv", "/customers/export.csv", "/accounts/CLOUD/1/"],
)
def test_pages_require_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_sign_in_and_out(client, db):
    UserFactory(username="alice")
    page = client.get("/login/")
    assert page.status_code == 200
    assert 'for="id_username"' in page.content.decode()
    response = client.post("/login/", {"username": "alice", "password": "correct horse battery staple"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/logout/").status_code == 405  # sign-out is a POST
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_api_paths_are_not_redirected_to_sign_in(client, db):
    response = client.get("/v1/customer_accounts")
    assert response.status_code != 302


# --- scoping -------------------------------------------------------------------------------------


def test_tenant_user_sees_only_their_records(tenant_client, two_tenants):
    assert tenant_client.get(two_tenants["account"].get_absolute_url()).status_code == 200
    assert tenant_client.get(two_tenants["mine"].get_absolute_url()).status_code == 200
    assert tenant_client.get(two_tenants["other"].get_absolute_url()).status_code == 404
    assert tenant_client.get(two_tenants["theirs"].get_absolute_url()).status_code == 404
    assert [a.key for a in rows_of(tenant_client.get("/accounts/"))] == ["CLOUD/1001"]
    assert [c.rcn for c in rows_of(tenant_client.get("/customers/"))] == ["RCN-100-000-001"]
    keys = [r[0] + "/" + r[1] for r in csv_rows(tenant_client.get("/accounts/export.csv"))[1:]]
    assert keys == ["CLOUD/1001"]
    assert [r[0] for r in csv_rows(tenant_client.get("/customers/export.csv"))[1:]] == ["RCN-100-000-001"]


@pytest.mark.parametrize("action", ["status", "collections", "nickname", "move"])
def test_tenant_user_cannot_act_on_other_tenants_accounts(tenant_client, two_tenants, action):
    url = f"/accounts/CLOUD/2002/{action}/"
    assert tenant_client.get(url).status_code == 404
    response = tenant_client.post(
        url, {"status": "Closed", "confirm": "yes", "nickname": "x", "rcn": "RCN-100-000-001"}
    )
    assert response.status_code == 404
    assert Account.objects.get(pk=two_tenants["other"].pk).status == "Active"


def test_tenant_user_cannot_move_to_or_merge_with_an_invisible_customer(tenant_client, two_tenants):
    response = tenant_client.post(
        "/accounts/CLOUD/1001/move/", {"rcn": "RCN-200-000-002", "confirm": "yes"}, follow=True
    )
    assert "There is no customer RCN-200-000-002 that you can see." in response.content.decode()
    assert Account.objects.get(pk=two_tenants["account"].pk).customer == two_tenants["mine"]
    assert tenant_client.post("/customers/RCN-200-000-002/merge/", {"target": "RCN-100-000-001"}).status_code == 404


def test_tenant_user_cannot_merge_customers_with_accounts_they_cannot_see(tenant_client, two_tenants):
    source = CustomerFactory(rcn="RCN-100-000-009", name="Source")
    AccountFactory(customer=source, account_id="visible-9", tenant_id="t1")
    AccountFactory(customer=source, account_id="hidden-9", tenant_id="t2")
    url = "/customers/RCN-100-000-009/merge/"
    response = tenant_client.post(url, {"target": "RCN-100-000-001", "confirm": "yes"}, follow=True)
    assert "Only someone who can see every account of both customers may merge them." in response.content.decode()
    assert Account.objects.get(account_id="hidden-9").customer == source


# --- lists ---------------------------------------------------------------------------------------


@pytest.fixture
def many_accounts():
    customer = CustomerFactory(rcn="RCN-300-000-003", name="Many")
    accounts = []
    for n in range(7):
        accounts.append(
            AccountFactory(
                customer=customer,
                account_id=f"{500 + n}",
                type="CLOUD" if n % 2 else "MANAGED_HOSTING",
                status="Active" if n < 4 else "Suspended",
                collections_status="CURRENT" if n < 5 else "DELINQUENT_LEVEL_2",
                service_level="managed" if n % 3 else "core",
                tenant_id=f"t{n % 2}",
                nickname=f"nick{n}" if n == 3 else None,
                number=None if n == 6 else 500 + n,
            )
        )
    MetadataFactory(account=accounts[2], key="support:tier", value="gold")
    MetadataFactory(account=accounts[3], key="support:tier", value="silver")
    return accounts


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"accountType": "CLOUD"}, {"501", "503", "505"}),
        ({"accountType": "cloud"}, {"501", "503", "505"}),
        ({"status": "Suspended"}, {"504", "505", "506"}),
        ({"collectionsStatus": "DELINQUENT_LEVEL_2"}, {"505", "506"}),
        ({"serviceLevel": "core"}, {"500", "503", "506"}),
        ({"tenantId": "t1"}, {"501", "503", "505"}),
        ({"metadataKey": "support:tier"}, {"502", "503"}),
        ({"metadataKey": "support:tier", "metadataValue": "gold"}, {"502"}),
        ({"q": "nick3"}, {"503"}),
        ({"rcn": "RCN-300-000-003", "status": "Active", "accountType": "MANAGED_HOSTING"}, {"500", "502"}),
    ],
)
def test_account_list_filters(staff_client, many_accounts, params, expected):
    response = staff_client.get("/accounts/", params)
    assert response.status_code == 200
    assert {a.account_id for a in rows_of(response)} == expected
    assert response.context["count"] == str(len(expected))
    exported = csv_rows(staff_client.get("/accounts/export.csv", params))
    assert {row[1] for row in exported[1:]} == expected


def test_account_list_bad_filter_is_a_message_not_an_error(staff_client, many_accounts):
    response = staff_client.get("/accounts/", {"metadataValue": "gold"})
    assert response.status_code == 200
    assert "metadataValue needs metadataKey." in response.content.decode()
    assert rows_of(response) == []
    assert staff_client.get("/accounts/export.csv", {"metadataValue": "gold"}).status_code == 400
    response = staff_client.get("/accounts/", {"accountType": "MAINFRAME"})
    assert "Type: Unknown value" in response.content.decode()


@pytest.mark.parametrize(
    "sort, key",
    [
        ("key", lambda a: (a.type, a.account_id)),
        ("number", lambda a: (a.number is None, a.number or 0, a.type, a.account_id)),
        ("status", lambda a: (a.status, a.type, a.account_id)),
        ("tenant", lambda a: (a.tenant_id, a.type, a.account_id)),
    ],
)
def test_account_list_sorting_and_paging_visit_each_row_once(staff_client, many_accounts, monkeypatch, sort, key):
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    expected = [a.account_id for a in sorted(many_accounts, key=key)]
    for descending in (False, True):
        wanted = list(reversed(expected)) if descending else expected
        params = {"sort": ("-" if descending else "") + sort}
        seen, pages_seen = [], []
        response = staff_client.get("/accounts/", params)
        while True:
            page = [a.account_id for a in rows_of(response)]
            pages_seen.append((page, response.context["prev_cursor"]))
            seen += page
            cursor = response.context["next_cursor"]
            if not cursor:
                break
            response = staff_client.get("/accounts/", {**params, "after": cursor})
        assert seen == wanted
        assert len(pages_seen) == 4  # 7 rows, 2 a page
        # ... and walking back with "previous" shows the same pages in reverse
        back = []
        while response.context["prev_cursor"]:
            response = staff_client.get("/accounts/", {**params, "before": response.context["prev_cursor"]})
            back.insert(0, [a.account_id for a in rows_of(response)])
        assert back == [p for p, _ in pages_seen[:-1]]
        exported = [row[1] for row in csv_rows(staff_client.get("/accounts/export.csv", params))[1:]]
        assert exported == wanted


def test_csv_export_walks_keyset_batches(staff_client, many_accounts, monkeypatch):
    monkeypatch.setattr(pages, "CSV_BATCH", 3)
    exported = [row[1] for row in csv_rows(staff_client.get("/accounts/export.csv"))[1:]]
    assert exported == [a.account_id for a in sorted(many_accounts, key=lambda a: (a.type, a.account_id))]


def test_unknown_sort_and_bad_cursor_fall_back(staff_client, many_accounts):
    response = staff_client.get("/accounts/", {"sort": "name; drop table", "after": "!!notbase64"})
    assert response.status_code == 200
    assert len(rows_of(response)) == 7


def test_tampered_cursor_starts_from_the_top(staff_client, many_accounts):
    cursor = pages.encode_cursor(["not a number", "CLOUD", "501"])
    response = staff_client.get("/accounts/", {"sort": "number", "after": cursor})
    assert response.status_code == 200
    assert len(rows_of(response)) == 7


@pytest.mark.postgres
def test_unfiltered_count_beyond_the_cap_is_an_estimate_on_postgresql(staff_client, db, monkeypatch):
    from django.db import connection

    for n in range(6):
        AccountFactory(account_id=f"70{n}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_account")
    monkeypatch.setattr(pages, "COUNT_CAP", 3)
    assert staff_client.get("/accounts/").context["count"] == "about 6"
    assert staff_client.get("/accounts/", {"accountType": "CLOUD"}).context["count"] == "3+"
    tenant = UserFactory(username="estimate-tenant")
    for n in range(4):
        TenantGrant.objects.create(user=tenant, tenant_id=f"70{n}")
    client = Client()
    client.force_login(tenant)
    assert client.get("/accounts/").context["count"] == "3+"


def test_csv_guards_against_formula_injection(staff_client, db):
    AccountFactory(account_id="900", name='=HYPERLINK("http://x")', nickname="+cmd", domain="@evil", tenant_id="-1")
    header, row = csv_rows(staff_client.get("/accounts/export.csv"))
    assert header[:3] == ["type", "id", "number"]
    assert row[header.index("name")] == '\'=HYPERLINK("http://x")'
    assert row[header.index("nickname")] == "'+cmd"
    assert row[header.index("domain")] == "'@evil"
    assert row[header.index("tenantId")] == "'-1"


def test_counts_are_capped(staff_client, db, monkeypatch):
    monkeypatch.setattr(pages, "COUNT_CAP", 3)
    for n in range(5):
        AccountFactory(account_id=f"80{n}")
    unfiltered = staff_client.get("/accounts/").context["count"]
    # PostgreSQL may answer a whole-table count beyond the cap with the planner's estimate
    assert unfiltered == "3+" or (on_postgres() and unfiltered.startswith("about "))
    assert staff_client.get("/accounts/", {"accountType": "CLOUD"}).context["count"] == "3+"
    monkeypatch.setattr(pages, "COUNT_CAP", 10)
    assert staff_client.get("/accounts/").context["count"] == "5"


def test_customer_list_filters_sorting_and_csv(staff_client, db):
    a = CustomerFactory(rcn="RCN-000-000-010", name="Zulu")
    b = CustomerFactory(rcn="RCN-000-000-020", name="Alpha")
    c = CustomerFactory(rcn="RCN-000-000-030", name=None)
    AccountFactory(customer=b, type="FANATICAL_SUPPORT_FOR_AWS", account_id="x1")
    assert [x.rcn for x in rows_of(staff_client.get("/customers/"))] == [a.rcn, b.rcn, c.rcn]
    assert [x.rcn for x in rows_of(staff_client.get("/customers/", {"sort": "name"}))] == [b.rcn, a.rcn, c.rcn]
    assert [x.rcn for x in rows_of(staff_client.get("/customers/", {"sort": "-name"}))] == [c.rcn, a.rcn, b.rcn]
    assert [x.rcn for x in rows_of(staff_client.get("/customers/", {"q": "zul"}))] == [a.rcn]
    assert [x.rcn for x in rows_of(staff_client.get("/customers/", {"accountType": "FANATICAL_SUPPORT_FOR_AWS"}))] == [
        b.rcn
    ]
    rows = csv_rows(staff_client.get("/customers/export.csv", {"sort": "name"}))
    assert rows == [["rcn", "name"], [b.rcn, "Alpha"], [a.rcn, "Zulu"], [c.rcn, ""]]


def test_list_markup_is_labelled_and_sortable(staff_client, many_accounts):
    body = staff_client.get("/accounts/", {"sort": "-status"}).content.decode()
    assert '<label for="id_status">Status</label>' in body
    assert 'aria-sort="descending"' in body
    assert 'data-testid="csv-link"' in body
    assert 'href="/accounts/export.csv?sort=-status"' in body


@pytest.mark.parametrize(
    "url, budget",
    # Pages: session, user, permissions, rows, count, and the person's saved filters of the list.
    [("/accounts/", 7), ("/customers/", 7), ("/accounts/export.csv", 6), ("/customers/export.csv", 6)],
)
def test_list_query_budget(staff_client, django_assert_max_num_queries, url, budget):
    for n in range(30):
        AccountFactory(account_id=f"{1000 + n}", customer=CustomerFactory())
    with django_assert_max_num_queries(budget):
        response = staff_client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200


# --- detail pages --------------------------------------------------------------------------------


def test_account_detail_shows_everything(staff_client, two_tenants):
    account = two_tenants["account"]
    services.account_status_change(account=account, actor=ACTOR, status="Suspended", fraud_status="REJECT")
    services.account_nickname_change(account=account, actor=ACTOR, nickname="<b>prod</b>")
    AccountContactFactory(account=account, contact__customer=account.customer, roles=["BILLING", "PRIMARY"])
    MetadataFactory(account=account, key="support:tier", value="gold")
    response = staff_client.get(account.get_absolute_url())
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="status-badge">Suspended' in body
    assert "&lt;b&gt;prod&lt;/b&gt;" in body and "<b>prod</b>" not in body
    assert "Billing" in body and "Primary" in body
    assert "support:tier" in body and "gold" in body
    assert body.count('data-testid="history-row"') == 3  # NEW, LEGACY_ACCOUNT_STATUS, NICKNAME
    assert body.count('data-testid="rcn-row"') == 1
    assert "fraud reject" in body
    assert 'data-copy="CLOUD/1001"' in body


def test_account_type_in_path_is_case_insensitive(staff_client, two_tenants):
    response = staff_client.get("/accounts/cloud/1001/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/CLOUD/1001/"
    assert staff_client.get("/accounts/CLOUD/nope/").status_code == 404


def test_customer_detail(staff_client, two_tenants):
    customer = two_tenants["mine"]
    AccountContactFactory(account=two_tenants["account"], contact__contact_number="RPN-555-555-555")
    body = staff_client.get(customer.get_absolute_url()).content.decode()
    assert "CLOUD/1001" in body and "RPN-555-555-555" in body
    assert body.count('data-testid="rcn-row"') == 1


def test_merged_customer_redirects_to_survivor(staff_client, two_tenants):
    services.customers_merge(source=two_tenants["theirs"], target=two_tenants["mine"], actor=ACTOR)
    response = staff_client.get("/customers/RCN-200-000-002/")
    assert response.status_code == 302
    assert response["Location"] == two_tenants["mine"].get_absolute_url()
    assert staff_client.get("/search/", {"q": "RCN-200-000-002"})["Location"] == two_tenants["mine"].get_absolute_url()
    assert staff_client.get("/customers/RCN-999-999-999/").status_code == 404


def _busy_account(n):
    account = AccountFactory(account_id=f"busy{n}")
    for i in range(n):
        StatusChangeFactory(account=account)
        AccountHistoryFactory(account=account)
        RCNChangeFactory(account=account)
        MetadataFactory(account=account, key=f"ns{i % 3}:key{i}")
        link = AccountContactFactory(account=account, roles=["PRIMARY", "BILLING"])
        link.contact.email_addresses.create(address=f"c{i}@example.com")
        link.contact.phone_numbers.create(number=f"210-555-{i:04d}")
    return account


def _record_changes(rows, *, rcn, account_key):
    """Changes of the account, of its metadata (a namespace to redact) and of its customer's contact."""
    with transaction.atomic():
        for i in range(rows):
            for object_type, key, namespace in (
                (ObjectType.ACCOUNT, account_key, None),
                (ObjectType.METADATA, f"{account_key} ns{i % 3}:key{i}", f"ns{i % 3}"),
                (ObjectType.CONTACT, f"RPN-{i:03d}-000-000", None),
            ):
                change_record(
                    actor=ACTOR,
                    object_type=object_type,
                    object_key=key,
                    action=Action.UPDATE,
                    rcn=rcn,
                    account_key=account_key if object_type != ObjectType.CONTACT else None,
                    namespace=namespace,
                    before={"value": "a"},
                    after={"value": "b"},
                )


@pytest.mark.parametrize("rows", [3, 30])
def test_account_detail_query_budget(staff_client, django_assert_max_num_queries, rows):
    account = _busy_account(rows)
    _record_changes(rows, rcn=account.customer.rcn, account_key=account.key)
    # 4 of them record the view (pages.record_view); 2 the Changes section (cmsportal.changes.pages), which
    # shares the metadata section's read of the unreadable namespaces
    with django_assert_max_num_queries(21):
        response = staff_client.get(account.get_absolute_url())
    assert response.content.decode().count('data-testid="contact-row"') == rows


@pytest.mark.parametrize("rows", [3, 30])
def test_customer_detail_query_budget(staff_client, django_assert_max_num_queries, rows):
    customer = CustomerFactory()
    for i in range(rows):
        account = AccountFactory(customer=customer, account_id=f"c{rows}-{i}")
        RCNChangeFactory(account=account)
        AccountContactFactory(account=account, contact__customer=customer)
    _record_changes(rows, rcn=customer.rcn, account_key=account.key)
    # 4 of them record the view (pages.record_view); 3 the Changes section (cmsportal.changes.pages)
    with django_assert_max_num_queries(16):
        response = staff_client.get(customer.get_absolute_url())
    assert response.content.decode().count('data-testid="account-row"') == rows


# --- actions -------------------------------------------------------------------------------------


def confirm(client, url, data):
    """Walk the two steps: the form (answered with a confirmation page), then the confirmation."""
    first = client.post(url, data)
    assert first.status_code == 200, first.content
    assert first.context.get("confirming") is True, first.context["form"].errors
    return client.post(url, {**data, "confirm": "yes"}, follow=True)


def test_change_status_writes_history_and_shows_it(editor_client, two_tenants):
    url = "/accounts/CLOUD/1001/status/"
    assert editor_client.get(url).status_code == 200
    response = confirm(
        editor_client, url, {"status": "Suspended", "access_policy": "SUSPENDED", "fraud_status": "REJECT"}
    )
    account = Account.objects.get(pk=two_tenants["account"].pk)
    assert (account.status, account.access_policy) == ("Suspended", "SUSPENDED")
    latest = StatusChange.objects.filter(account=account).order_by("-id").first()
    assert (latest.status, latest.fraud_status, latest.username) == ("Suspended", "REJECT", "editor")
    assert AccountHistory.objects.filter(account=account, change_type="LEGACY_ACCOUNT_STATUS").count() == 1
    body = response.content.decode()
    assert response.redirect_chain[-1][0] == account.get_absolute_url() + "#status"
    assert "Status of CLOUD/1001 changed" in body
    assert "LEGACY_ACCOUNT_STATUS" in body


def test_status_form_needs_a_change(editor_client, two_tenants):
    response = editor_client.post("/accounts/CLOUD/1001/status/", {"status": "", "access_policy": ""})
    assert "Choose a new status or access policy." in response.content.decode()
    response = editor_client.post("/accounts/CLOUD/1001/status/", {"status": "Bogus", "confirm": "yes"})
    assert 'data-testid="field-error"' in response.content.decode()
    assert StatusChange.objects.filter(account=two_tenants["account"]).count() == 1


def test_change_collections_status(editor_client, two_tenants):
    response = confirm(editor_client, "/accounts/CLOUD/1001/collections/", {"collections_status": "WRITTEN_OFF"})
    assert Account.objects.get(pk=two_tenants["account"].pk).collections_status == "WRITTEN_OFF"
    assert AccountHistory.objects.filter(change_type="COLLECTIONS_STATUS", collections_status="WRITTEN_OFF").exists()
    assert "COLLECTIONS_STATUS" in response.content.decode()


def test_change_nickname(editor_client, two_tenants):
    response = confirm(editor_client, "/accounts/CLOUD/1001/nickname/", {"nickname": "blue-prod"})
    history = AccountHistory.objects.get(change_type="NICKNAME")
    assert history.nickname == "blue-prod" and history.updated_by_username == "editor"
    assert "blue-prod" in response.content.decode()


def test_move_account(editor_client, two_tenants):
    response = confirm(editor_client, "/accounts/CLOUD/1001/move/", {"rcn": "rcn-200-000-002"})
    assert Account.objects.get(pk=two_tenants["account"].pk).customer == two_tenants["theirs"]
    assert RCNChange.objects.filter(account=two_tenants["account"], change_type="RCN_UPDATE").exists()
    body = response.content.decode()
    assert "CLOUD/1001 now belongs to RCN-200-000-002." in body
    assert "RCN_UPDATE" in body


def test_move_confirmation_lists_the_contacts_taken_off_and_the_message_names_them(editor_client, two_tenants):
    account = two_tenants["account"]
    AccountContactFactory(
        account=account,
        contact__contact_number="RPN-000-111-007",
        contact__first_name="Mike",
        contact__last_name="Jones",
        roles=["TECHNICAL", "BILLING"],
    )
    url = "/accounts/CLOUD/1001/move/"
    first = editor_client.post(url, {"rcn": "RCN-200-000-002"})
    assert first.context["confirming"] is True
    changes = first.content.decode().split('data-testid="changes"')[1].split("</ul>")[0]
    assert "taken off CLOUD/1001" in changes
    assert "<li>Mike Jones (RPN-000-111-007): TECHNICAL, BILLING</li>" in changes
    assert account.contact_links.count() == 1  # nothing changed before the confirmation

    response = editor_client.post(url, {"rcn": "RCN-200-000-002", "confirm": "yes"}, follow=True)
    assert "Taken off it, with their roles: Mike Jones (RPN-000-111-007): TECHNICAL, BILLING." in (
        response.content.decode()
    )
    assert not account.contact_links.exists()


def test_move_to_same_customer_is_a_form_error(editor_client, two_tenants):
    response = editor_client.post("/accounts/CLOUD/1001/move/", {"rcn": "RCN-100-000-001", "confirm": "yes"})
    assert response.status_code == 200
    assert "already belongs to RCN-100-000-001" in response.content.decode()
    response = editor_client.post("/accounts/CLOUD/1001/move/", {"rcn": "garbage"})
    assert "An RCN looks like RCN-123-456-789." in response.content.decode()


def test_merge_customers(editor_client, two_tenants):
    response = confirm(editor_client, "/customers/RCN-200-000-002/merge/", {"target": "RCN-100-000-001"})
    assert response.redirect_chain[-1][0] == two_tenants["mine"].get_absolute_url() + "#accounts"
    assert RCNChange.objects.filter(account=two_tenants["other"], change_type="MERGE").exists()
    body = response.content.decode()
    assert "RCN-200-000-002 was merged into RCN-100-000-001." in body
    assert "MERGE" in body and "CLOUD/2002" in body


@pytest.mark.parametrize(
    "url, data",
    [
        ("/accounts/CLOUD/1001/status/", {"status": "Closed"}),
        ("/accounts/CLOUD/1001/collections/", {"collections_status": "WRITTEN_OFF"}),
        ("/accounts/CLOUD/1001/nickname/", {"nickname": "x"}),
        ("/accounts/CLOUD/1001/move/", {"rcn": "RCN-200-000-002"}),
        ("/customers/RCN-200-000-002/merge/", {"target": "RCN-100-000-001"}),
    ],
)
def test_actions_need_permission(staff_client, two_tenants, url, data):
    assert staff_client.get(url).status_code == 403
    assert staff_client.post(url, {**data, "confirm": "yes"}).status_code == 403
    assert AccountHistory.objects.count() == 2  # the two NEW rows only


def test_action_buttons_follow_permissions(staff_client, editor_client, two_tenants):
    url = two_tenants["account"].get_absolute_url()
    assert 'data-testid="action-status"' not in staff_client.get(url).content.decode()
    assert 'data-testid="action-status"' in editor_client.get(url).content.decode()


def test_actions_need_csrf(editor, two_tenants):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    response = client.post("/accounts/CLOUD/1001/nickname/", {"nickname": "x", "confirm": "yes"})
    assert response.status_code == 403
    assert AccountHistory.objects.filter(change_type="NICKNAME").count() == 0


def test_get_never_changes_anything(editor_client, two_tenants):
    editor_client.get("/accounts/CLOUD/1001/nickname/", {"nickname": "x", "confirm": "yes"})
    assert AccountHistory.objects.filter(change_type="NICKNAME").count() == 0


def test_confirmation_page_carries_the_values(editor_client, two_tenants):
    response = editor_client.post("/accounts/CLOUD/1001/nickname/", {"nickname": "edge"})
    body = response.content.decode()
    assert 'data-testid="confirm-form"' in body
    assert 'name="nickname" value="edge"' in body
    assert 'name="confirm" value="yes"' in body
    assert "(none) → edge" in body
    assert AccountHistory.objects.filter(change_type="NICKNAME").count() == 0


def test_home_page(staff_client):
    body = staff_client.get(reverse("home")).content.decode()
    assert 'id="home-search"' in body and 'role="search"' in body
    assert 'class="skip-link"' in body
