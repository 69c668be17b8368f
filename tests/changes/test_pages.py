"""The change log on the staff pages: the Changes sections of the detail pages, the global log and its CSV."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.db import transaction
from django.test import Client

from accounts import services
from cmsportal.changes.access import REDACTED
from cmsportal.changes.choices import Action, ObjectType
from cmsportal.changes.models import Change
from cmsportal.changes.pages import SECTION_ROWS
from cmsportal.changes.services import change_record
from cmsportal.changes.shapes import CSV_HEADER
from cmsportal.identity.access import Actor
from cmsportal.identity.models import TenantGrant
from tests.factories import ContactFactory, NamespaceFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTOR = Actor("alice", "RACKER")


def record(**kwargs):
    with transaction.atomic():
        return change_record(actor=kwargs.pop("actor", ACTOR), **kwargs)


@pytest.fixture
def world():
    mine = services.customer_create(rcn="RCN-100-000-001", name="Mine Inc", actor=ACTOR)
    theirs = services.customer_create(rcn="RCN-200-000-002", name="Theirs Ltd", actor=ACTOR)
    account = services.account_create(actor=ACTOR, customer=mine, type="CLOUD", account_id="1001", tenant_id="t1")
    other = services.account_create(actor=ACTOR, customer=theirs, type="CLOUD", account_id="2002", tenant_id="t2")
    services.account_nickname_change(account=account, actor=Actor("bob", "RACKER"), nickname="prod")
    contact = ContactFactory(customer=mine, contact_number="RPN-100-000-001")
    record(
        object_type=ObjectType.CONTACT,
        object_key=contact.contact_number,
        action=Action.UPDATE,
        rcn=mine.rcn,
        before={"firstName": "Wile"},
        after={"firstName": "Wyle"},
    )
    NamespaceFactory(name="secret", access="READ_RESTRICTED")
    record(
        object_type=ObjectType.METADATA,
        object_key="CLOUD/1001 secret:pin",
        action=Action.CREATE,
        rcn=mine.rcn,
        account_key="CLOUD/1001",
        namespace="secret",
        after={"key": "secret:pin", "value": "4242"},
    )
    record(
        object_type=ObjectType.METADATA,
        object_key="CLOUD/2002 support:tier",
        action=Action.DELETE,
        rcn=theirs.rcn,
        account_key="CLOUD/2002",
        before={"key": "support:tier", "value": "gold"},
    )
    return {"mine": mine, "theirs": theirs, "account": account, "other": other, "contact": contact}


@pytest.fixture
def superuser_client():
    client = Client()
    client.force_login(StaffFactory(username="root", is_superuser=True))
    return client


@pytest.fixture
def staff_client():
    """Staff who sees every account but may not read the read-restricted namespace `secret`."""
    client = Client()
    client.force_login(StaffFactory(username="clerk"))
    return client


@pytest.fixture
def tenant_client(world):
    user = UserFactory(username="tenant1")
    TenantGrant.objects.create(user=user, tenant_id="t1")
    client = Client()
    client.force_login(user)
    return client


def ids_of(response) -> list[int]:
    return [row.change.id for row in response.context["rows"]]


def section_ids(response) -> list[int]:
    return [row.change.id for row in response.context["changes"]["rows"]]


def csv_rows(response):
    assert response.status_code == 200
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def newest_first(**lookup) -> list[int]:
    return list(Change.objects.filter(**lookup).order_by("-id").values_list("id", flat=True))


# --- detail pages ------------------------------------------------------------------------------------


def test_customer_section_shows_its_own_and_its_childrens_changes_newest_first(superuser_client, world):
    response = superuser_client.get(world["mine"].get_absolute_url())
    assert response.status_code == 200
    expected = newest_first(rcn="RCN-100-000-001")
    # customer create, account create, nickname, contact update, metadata create
    assert len(expected) == 5
    assert section_ids(response) == expected
    body = response.content.decode()
    assert body.count('data-testid="change-row"') == 5
    assert 'href="/changes/?rcn=RCN-100-000-001"' in body
    # The contact's change: its diff, and a link to the contact, who still exists.
    assert "Wile" in body and "Wyle" in body
    assert 'href="/contacts/RPN-100-000-001/" data-testid="change-object"' in body
    assert "RCN-200-000-002" not in body


def test_account_section_shows_the_account_and_its_metadata(superuser_client, world):
    response = superuser_client.get(world["account"].get_absolute_url())
    assert section_ids(response) == newest_first(account_key="CLOUD/1001")
    body = response.content.decode()
    assert 'href="/changes/?account=CLOUD%2F1001"' in body
    assert "4242" in body  # a superuser reads every namespace
    nickname = response.context["changes"]["rows"][-2]
    assert nickname.change.actor_username == "bob"
    assert ("nickname", "—", "prod") in [(line.key, line.old, line.new) for line in nickname.lines]
    assert nickname.url == "/accounts/CLOUD/1001/"


def test_contact_section(superuser_client, world):
    response = superuser_client.get(world["contact"].get_absolute_url())
    rows = response.context["changes"]["rows"]
    assert [row.change.object_key for row in rows] == ["RPN-100-000-001"]
    assert 'href="/changes/?objectType=contact&amp;key=RPN-100-000-001"' in response.content.decode()


def test_section_shows_the_latest_rows_and_links_to_all(superuser_client, world):
    for n in range(SECTION_ROWS + 2):
        record(
            object_type=ObjectType.ACCOUNT,
            object_key="CLOUD/1001",
            action=Action.UPDATE,
            rcn="RCN-100-000-001",
            account_key="CLOUD/1001",
            before={"name": f"n{n}"},
            after={"name": f"n{n + 1}"},
        )
    response = superuser_client.get(world["account"].get_absolute_url())
    assert section_ids(response) == newest_first(account_key="CLOUD/1001")[:SECTION_ROWS]
    assert response.context["changes"]["more"] is True
    assert "See all changes" in response.content.decode()


def test_create_shows_new_values_and_delete_the_old(superuser_client, world):
    response = superuser_client.get("/changes/", {"objectType": "metadata"})
    rows = {row.change.action: row for row in response.context["rows"]}
    created, deleted = rows[Action.CREATE], rows[Action.DELETE]
    assert (created.show_old, created.show_new) == (False, True)
    assert (deleted.show_old, deleted.show_new) == (True, False)
    assert [(line.key, line.new) for line in created.lines] == [("key", "secret:pin"), ("value", "4242")]
    assert [(line.key, line.old) for line in deleted.lines] == [("key", "support:tier"), ("value", "gold")]


def test_a_long_diff_shows_its_first_fields_and_the_rest_behind_more(superuser_client, world):
    response = superuser_client.get("/changes/", {"objectType": "account", "action": "create"})
    row = response.context["rows"][0]
    assert len(row.head) == 6 and row.tail and row.head + row.tail == row.lines
    assert f"{len(row.tail)} more fields" in response.content.decode()


def test_object_link_only_while_the_object_exists(superuser_client, world):
    services.account_status_change(account=world["other"], actor=ACTOR, status="Closed")
    world["other"].delete()
    response = superuser_client.get("/changes/", {"account": "CLOUD/2002"})
    rows = response.context["rows"]
    assert rows and all(row.url is None for row in rows)
    mine = superuser_client.get("/changes/", {"account": "CLOUD/1001"}).context["rows"]
    assert all(row.url == "/accounts/CLOUD/1001/" for row in mine)


def test_tenant_sees_only_its_accounts_changes(tenant_client, world):
    allowed = set(newest_first(account_key="CLOUD/1001"))
    log = tenant_client.get("/changes/")
    assert log.status_code == 200
    assert set(ids_of(log)) == allowed
    assert "CLOUD/2002" not in log.content.decode()
    rows = csv_rows(tenant_client.get("/changes/export.csv"))
    assert {int(row[0]) for row in rows[1:]} == allowed
    page = tenant_client.get(world["account"].get_absolute_url())
    assert set(section_ids(page)) == allowed
    customer_page = tenant_client.get(world["mine"].get_absolute_url())
    # The customer's and the contact's own changes are staff matters.
    assert set(section_ids(customer_page)) == allowed
    # Filters narrow, never widen.
    assert ids_of(tenant_client.get("/changes/", {"account": "CLOUD/2002"})) == []
    assert csv_rows(tenant_client.get("/changes/export.csv", {"rcn": "RCN-200-000-002"})) == [CSV_HEADER]


def test_redaction_on_the_pages_and_in_the_csv(staff_client, world):
    for url in ("/changes/", world["account"].get_absolute_url(), world["mine"].get_absolute_url()):
        body = staff_client.get(url).content.decode()
        assert "secret:pin" in body, url  # which entry changed is not secret
        assert "4242" not in body, url
        assert REDACTED in body, url
    rows = csv_rows(staff_client.get("/changes/export.csv", {"objectType": "metadata"}))
    pin = next(row for row in rows if row[6] == "CLOUD/1001 secret:pin")
    assert "4242" not in ",".join(pin) and REDACTED in pin[CSV_HEADER.index("after")]
    # Another namespace's values stay readable.
    gold = next(row for row in rows if row[6] == "CLOUD/2002 support:tier")
    assert "gold" in gold[CSV_HEADER.index("before")]


# --- the change log ------------------------------------------------------------------------------------


def test_log_is_newest_first_and_linked_from_the_header(superuser_client, world):
    response = superuser_client.get("/changes/")
    assert ids_of(response) == newest_first()
    assert 'data-testid="nav-changes"' in response.content.decode()
    assert ids_of(superuser_client.get("/changes/", {"sort": "id"})) == newest_first()[::-1]


def test_log_pages_by_keyset(superuser_client, world):
    for _ in range(30):
        record(object_type=ObjectType.CUSTOMER, object_key="RCN-100-000-001", action=Action.UPDATE, after={"a": 1})
    expected = newest_first()
    first = superuser_client.get("/changes/", {"size": 25})
    assert ids_of(first) == expected[:25]
    assert first.context["count"] == f"{len(expected)}"
    second = superuser_client.get("/changes/", {"size": 25, "after": first.context["next_cursor"], "at": 26})
    assert ids_of(second) == expected[25:50]
    assert second.context["first_index"] == 26
    assert second.context["next_cursor"] is None
    back = superuser_client.get("/changes/", {"size": 25, "before": second.context["prev_cursor"], "at": 1})
    assert ids_of(back) == expected[:25]
    # A cursor not made here starts from the top.
    assert ids_of(superuser_client.get("/changes/", {"size": 25, "after": "bm9wZQ"})) == expected[:25]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"actor": "bob"}, {"actor_username": "bob"}),
        ({"objectType": "metadata"}, {"object_type": "metadata"}),
        ({"action": "delete"}, {"action": "delete"}),
        ({"key": "RPN-100-000-001"}, {"object_key": "RPN-100-000-001"}),
        ({"rcn": "RCN-200-000-002"}, {"rcn": "RCN-200-000-002"}),
        ({"account": "CLOUD/1001"}, {"account_key": "CLOUD/1001"}),
        ({"q": "secret"}, {"object_key__icontains": "secret"}),
        ({"since": "2026-03-01"}, {"time__gte": datetime(2026, 3, 1, tzinfo=UTC)}),
        ({"until": "2026-03-01T00:00Z"}, {"time__lt": datetime(2026, 3, 1, tzinfo=UTC)}),
    ],
)
def test_every_filter_narrows_the_log_and_the_csv(superuser_client, world, params, expected):
    Change.objects.filter(actor_username="bob").update(time=datetime(2026, 1, 1, tzinfo=UTC))
    Change.objects.filter(object_type="metadata").update(time=datetime(2026, 6, 1, tzinfo=UTC))
    wanted = newest_first(**expected)
    assert wanted and wanted != newest_first()
    response = superuser_client.get("/changes/", params)
    assert response.status_code == 200
    assert ids_of(response) == wanted
    assert len(response.context["chips"]) == 1
    rows = csv_rows(superuser_client.get("/changes/export.csv", params))
    assert [int(row[0]) for row in rows[1:]] == wanted


@pytest.mark.parametrize(
    "params, message",
    [
        ({"objectType": "planet"}, "Object type: Select a valid choice."),
        ({"action": "explode"}, "Action: Select a valid choice."),
        ({"since": "yesterday"}, "Since (ISO 8601): 'yesterday' is not a date or time"),
        ({"until": "2026-13-45"}, "Until (ISO 8601): '2026-13-45' is not a date or time"),
        ({"since": "2026-01-01", "until": "x"}, "Until (ISO 8601): 'x' is not a date or time"),
    ],
)
def test_an_invalid_filter_is_a_form_error(superuser_client, world, params, message):
    response = superuser_client.get("/changes/", params)
    assert response.status_code == 200
    assert any(e.startswith(message) for e in response.context["errors"]), response.context["errors"]
    assert response.context["rows"] == []
    assert 'data-testid="filter-errors"' in response.content.decode()
    export = superuser_client.get("/changes/export.csv", params)
    assert export.status_code == 400
    assert message in export.content.decode()


@pytest.mark.parametrize("name", ["actor", "key", "rcn", "account", "q"])
def test_a_text_filter_takes_any_text(superuser_client, world, name):
    """Free text matches nothing rather than failing; a NUL is refused up front (cmsportal.inputguard)."""
    for value in ("zz" * 1500, "'; DROP TABLE changes_change; --", "²"):
        response = superuser_client.get("/changes/", {name: value})
        assert response.status_code == 200 and response.context["errors"] == []
        assert ids_of(response) == []
        assert csv_rows(superuser_client.get("/changes/export.csv", {name: value})) == [CSV_HEADER]
    assert superuser_client.get("/changes/", {name: "a\x00b"}).status_code == 400
    assert superuser_client.get("/changes/export.csv", {name: "a\x00b"}).status_code == 400


def test_csv_header_rows_and_formula_protection(superuser_client, world):
    record(object_type=ObjectType.CUSTOMER, object_key="=HYPERLINK(1)", action=Action.UPDATE, after={"name": "x"})
    response = superuser_client.get("/changes/export.csv")
    assert response["Content-Disposition"] == 'attachment; filename="changes.csv"'
    rows = csv_rows(response)
    assert rows[0] == CSV_HEADER
    assert [int(row[0]) for row in rows[1:]] == newest_first()
    assert rows[1][6] == "'=HYPERLINK(1)"
    nickname = next(row for row in rows if row[3] == "bob")
    assert nickname[7] == "update" and nickname[9] == "CLOUD/1001"
    assert '"nickname": null' in nickname[10] and '"nickname": "prod"' in nickname[11]


def test_anonymous_is_sent_to_sign_in(client, world):
    for url in ("/changes/", "/changes/export.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("rows", [3, 40])
def test_query_budget(superuser_client, staff_client, world, django_assert_max_num_queries, rows):
    for n in range(rows):
        record(
            object_type=ObjectType.METADATA,
            object_key=f"CLOUD/1001 secret:k{n}",
            action=Action.UPDATE,
            rcn="RCN-100-000-001",
            account_key="CLOUD/1001",
            namespace="secret",
            before={"value": "a"},
            after={"value": "b"},
        )
        record(object_type=ObjectType.CONTACT, object_key="RPN-100-000-001", action=Action.UPDATE, after={"x": n})
    # Session, user, its permissions (2), rows, count, the objects that still exist, the unreadable namespaces.
    with django_assert_max_num_queries(8):
        assert len(staff_client.get("/changes/").context["rows"]) == min(50, rows * 2 + 8)
    with django_assert_max_num_queries(6):
        csv_rows(staff_client.get("/changes/export.csv"))
