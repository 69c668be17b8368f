"""Account and customer admin: search, filters, bounded queries, and saves that write the services' history."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services
from accounts.models import REASON_MAX_LENGTH, Account, AccountHistory, Customer, RCNChange, StatusChange
from cmsportal.identity.access import Actor
from contacts.models import AccountContact
from tests.admin_helpers import action_data, add_inline_row, changeform_data, changelist_rows, inline_prefix
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    ContactFactory,
    CustomerFactory,
    StatusChangeFactory,
    UserFactory,
)

CHANGELIST = reverse("admin:accounts_account_changelist")


def change_url(account):
    return reverse("admin:accounts_account_change", args=[account.pk])


@pytest.fixture
def admin_user(db):
    return UserFactory(username="boss", is_staff=True, is_superuser=True)


@pytest.fixture
def client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def directory(db):
    acme = CustomerFactory(rcn="RCN-111-222-333", name="Acme Hosting")
    globex = CustomerFactory(rcn="RCN-444-555-666", name="Globex Corp")
    return {
        "cloud": AccountFactory(
            customer=acme, account_id="10101", name="Acme Web", nickname="prod", service_level="managed"
        ),
        "mh": AccountFactory(
            customer=acme,
            type="MANAGED_HOSTING",
            account_id="5342823",
            tenant_id="hybrid:5342823",
            domain="dedicated:5342823",
            name="Acme Hybrid",
            status="Suspended",
            collections_status="DELINQUENT_LEVEL_3",
            access_policy="SUSPENDED",
            service_level="intensive",
        ),
        "faws": AccountFactory(
            customer=globex,
            type="FANATICAL_SUPPORT_FOR_AWS",
            account_id="777001",
            number=4242,
            tenant_id="faws:777001",
            domain=None,
            name="Globex AWS",
            status="Closed",
            collections_status="WRITTEN_OFF",
            service_level="navigator",
        ),
    }


def keys(response):
    return sorted(account.key for account in changelist_rows(response))


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("CLOUD/10101", ["CLOUD/10101"]),
        ("managed_hosting:5342823", ["MANAGED_HOSTING/5342823"]),
        ("10101", ["CLOUD/10101"]),
        ("4242", ["FANATICAL_SUPPORT_FOR_AWS/777001"]),  # the number, not the id
        ("RCN-111-222-333", ["CLOUD/10101", "MANAGED_HOSTING/5342823"]),
        ("globex", ["FANATICAL_SUPPORT_FOR_AWS/777001"]),  # customer name
        ("hybrid:5342823", ["MANAGED_HOSTING/5342823"]),  # tenant id
        ("dedicated:", ["MANAGED_HOSTING/5342823"]),  # domain
        ("Acme Web", ["CLOUD/10101"]),  # account name
        ("prod", ["CLOUD/10101"]),  # nickname
        ("FANATICAL", ["FANATICAL_SUPPORT_FOR_AWS/777001"]),  # type
        ("nothing-like-this", []),
    ],
)
def test_account_search(client, directory, term, expected):
    response = client.get(CHANGELIST, {"q": term})
    assert response.status_code == 200
    assert keys(response) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"type__exact": "MANAGED_HOSTING"}, ["MANAGED_HOSTING/5342823"]),
        ({"status__exact": "Closed"}, ["FANATICAL_SUPPORT_FOR_AWS/777001"]),
        ({"collections_status__exact": "DELINQUENT_LEVEL_3"}, ["MANAGED_HOSTING/5342823"]),
        ({"access_policy__exact": "SUSPENDED"}, ["MANAGED_HOSTING/5342823"]),
        ({"service_level": "managed"}, ["CLOUD/10101"]),
        ({"status__exact": "Active", "type__exact": "CLOUD"}, ["CLOUD/10101"]),
    ],
)
def test_account_filters(client, directory, params, expected):
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    assert keys(response) == expected


def _changelist_queries(client, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST, params or {})
    assert response.status_code == 200
    return len(queries), len(changelist_rows(response))


def test_account_changelist_queries_do_not_grow_with_rows(client, directory):
    client.get(CHANGELIST)  # warm the content-type cache
    few_queries, few_rows = _changelist_queries(client)
    for n in range(25):
        AccountFactory(account_id=str(900000 + n))
    many_queries, many_rows = _changelist_queries(client)
    assert (few_rows, many_rows) == (3, 28)
    assert many_queries == few_queries
    searched, _ = _changelist_queries(client, {"q": "Acme", "status__exact": "Active"})
    assert searched == few_queries


def test_customer_changelist_search_and_bounded_queries(client, directory):
    url = reverse("admin:accounts_customer_changelist")
    response = client.get(url, {"q": "globex"})
    assert [c.rcn for c in changelist_rows(response)] == ["RCN-444-555-666"]
    response = client.get(url, {"q": "RCN-111"})
    rows = changelist_rows(response)
    assert [c.rcn for c in rows] == ["RCN-111-222-333"]
    assert rows[0].account_count == 2
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(10):
        AccountFactory(customer=CustomerFactory())
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


# --- saves go through the services ------------------------------------------------------------------------------


def trail_rows(account):
    """The account's trails without ids and dates: what a service wrote, comparable across accounts."""
    status = list(
        StatusChange.objects.filter(account=account)
        .order_by("id")
        .values_list("status", "collections_status", "access_policy", "fraud_status", "username", "usertype")
    )
    history = list(
        AccountHistory.objects.filter(account=account)
        .order_by("id")
        .values_list(
            "change_type",
            "rcn",
            "account_status",
            "collections_status",
            "nickname",
            "updated_by_username",
            "updated_by_type",
            "destination_updated_by_username",
            "destination_updated_by_type",
        )
    )
    rcn = list(RCNChange.objects.filter(account=account).order_by("id").values_list("change_type", "rcn", "username"))
    return status, history, rcn


def twin(account, **overrides):
    """A second account in the same state, to receive the same change through the service directly."""
    fields = {
        name: getattr(account, name)
        for name in ("customer", "type", "name", "nickname", "status", "collections_status", "access_policy")
    }
    return AccountFactory(account_id=f"{account.account_id}9", **(fields | overrides))


def post_change(client, account, **changes):
    response = client.get(change_url(account))
    data = changeform_data(response)
    data.update(changes)
    return client.post(change_url(account), data)


@pytest.mark.parametrize(
    ("change", "service_call"),
    [
        (
            {"status": "Suspended"},
            lambda account, actor, target: services.account_status_change(
                account=account, actor=actor, status="Suspended"
            ),
        ),
        (
            {"access_policy": "SUSPENDED"},
            lambda account, actor, target: services.account_status_change(
                account=account, actor=actor, access_policy="SUSPENDED"
            ),
        ),
        (
            {"status": "Delinquent", "fraud_status": "REJECT"},
            lambda account, actor, target: services.account_status_change(
                account=account, actor=actor, status="Delinquent", fraud_status="REJECT"
            ),
        ),
        (
            {"collections_status": "DELINQUENT_LEVEL_1"},
            lambda account, actor, target: services.account_collections_status_change(
                account=account, actor=actor, collections_status="DELINQUENT_LEVEL_1"
            ),
        ),
        (
            {"nickname": "rackspace"},
            lambda account, actor, target: services.account_nickname_change(
                account=account, actor=actor, nickname="rackspace"
            ),
        ),
        (
            {"customer": "TARGET"},
            lambda account, actor, target: services.account_move(account=account, actor=actor, customer=target),
        ),
    ],
    ids=["status", "access", "status+fraud", "collections", "nickname", "customer"],
)
def test_admin_edit_writes_the_same_history_as_the_service(client, directory, change, service_call):
    account = directory["cloud"]
    target = CustomerFactory(rcn="RCN-000-000-002")
    reference = twin(account)
    service_call(reference, Actor("boss", "RACKER"), target)

    before = (StatusChange.objects.count(), AccountHistory.objects.count(), RCNChange.objects.count())
    change = {k: str(target.pk) if v == "TARGET" else v for k, v in change.items()}
    response = post_change(client, account, **change)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors

    assert trail_rows(account) == trail_rows(reference)
    written = sum(len(rows) for rows in trail_rows(account))
    after = (StatusChange.objects.count(), AccountHistory.objects.count(), RCNChange.objects.count())
    assert sum(after) - sum(before) == written > 0
    account.refresh_from_db()
    assert account.last_updated_by == "boss"


def test_admin_edit_of_several_fields_calls_each_service_once(client, directory):
    account = directory["cloud"]
    response = post_change(
        client, account, status="Suspended", collections_status="DELINQUENT_LEVEL_2", nickname="n2", name="Renamed"
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.status, account.collections_status, account.nickname, account.name) == (
        "Suspended",
        "DELINQUENT_LEVEL_2",
        "n2",
        "Renamed",
    )
    status, history, rcn = trail_rows(account)
    assert [row[0] for row in history] == ["LEGACY_ACCOUNT_STATUS", "COLLECTIONS_STATUS", "NICKNAME"]
    assert len(status) == 2 and rcn == []


def test_admin_edit_of_plain_fields_writes_no_history(client, directory):
    account = directory["cloud"]
    response = post_change(client, account, name="Renamed", service_level="intensive", domain="example.com")
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.service_level, account.domain, account.last_updated_by) == (
        "Renamed",
        "intensive",
        "example.com",
        "boss",
    )
    assert trail_rows(account) == ([], [], [])


def test_admin_save_without_changes_writes_nothing(client, directory):
    account = directory["cloud"]
    assert post_change(client, account).status_code == 302
    assert trail_rows(account) == ([], [], [])


def test_admin_add_account_uses_account_create(client, directory):
    customer = Customer.objects.get(rcn="RCN-111-222-333")
    url = reverse("admin:accounts_account_add")
    data = changeform_data(client.get(url))
    data.update(customer=str(customer.pk), type="MANAGED_HOSTING", account_id="880088", fraud_status="ACCEPT")
    data.pop("tenant_id", None)
    data.pop("domain", None)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    account = Account.objects.get(type="MANAGED_HOSTING", account_id="880088")
    assert (account.tenant_id, account.domain, account.number) == ("hybrid:880088", "dedicated:880088", 880088)
    assert (account.status, account.collections_status, account.access_policy) == ("Active", "CURRENT", "FULL")
    status, history, rcn = trail_rows(account)
    assert status == [("Active", "CURRENT", "FULL", "ACCEPT", "boss", "RACKER")]
    assert [(h[0], h[1], h[5], h[6]) for h in history] == [("NEW", "RCN-111-222-333", "boss", "RACKER")]
    assert rcn == [("NEW", "RCN-111-222-333", "boss")]


def test_admin_add_duplicate_account_is_a_form_error(client, directory):
    url = reverse("admin:accounts_account_add")
    data = changeform_data(client.get(url))
    data.update(customer=str(directory["cloud"].customer_id), type="CLOUD", account_id="10101")
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Account.objects.filter(type="CLOUD", account_id="10101").count() == 1


def test_clearing_a_status_is_a_form_error(client, directory):
    account = directory["cloud"]
    response = post_change(client, account, status="")
    assert response.status_code == 200
    assert "status" in response.context["adminform"].form.errors
    assert trail_rows(account) == ([], [], [])


def test_a_refusing_service_is_a_message_and_rolls_back_the_whole_save(client, directory, monkeypatch):
    from django.core.exceptions import ValidationError

    def refuse(**kwargs):
        raise ValidationError("nickname refused")

    monkeypatch.setattr(services, "account_nickname_change", refuse)
    account = directory["cloud"]
    response = post_change(client, account, status="Closed", nickname="new")
    assert response.status_code == 302
    assert response["Location"] == change_url(account)
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("nickname refused" in m for m in messages)
    account.refresh_from_db()
    assert (account.status, account.nickname) == ("Active", "prod")  # the status change rolled back too
    assert trail_rows(account) == ([], [], [])


def test_accounts_cannot_be_deleted_in_the_admin(client, directory):
    account = directory["cloud"]
    response = client.post(reverse("admin:accounts_account_delete", args=[account.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Account.objects.filter(pk=account.pk).exists()


# --- history inlines are read-only --------------------------------------------------------------------------------


def test_history_inlines_are_read_only(client, directory):
    account = directory["cloud"]
    services.account_status_change(account=account, actor=Actor("x"), status="Suspended")
    response = client.get(change_url(account))
    inlines = {inline.formset.model: inline for inline in response.context["inline_admin_formsets"]}
    for model in (StatusChange, AccountHistory, RCNChange):
        inline = inlines[model]
        assert not inline.has_add_permission and not inline.has_change_permission
        assert not inline.has_delete_permission
    assert b"Suspended" in response.content

    # A forged POST that adds, changes or deletes trail rows changes nothing.
    data = changeform_data(response)
    prefix = inline_prefix(response, StatusChange)
    existing = StatusChange.objects.get(account=account)
    add_inline_row(data, prefix, status="Closed", username="forger", date="2020-01-01 00:00:00")
    data[f"{prefix}-0-status"] = "Active"
    data[f"{prefix}-0-DELETE"] = "on"
    response = client.post(change_url(account), data)
    assert response.status_code in (200, 302)
    assert list(StatusChange.objects.filter(account=account)) == [existing]
    existing.refresh_from_db()
    assert existing.status == "Suspended"


def test_standalone_trail_admins_are_read_only_and_searchable(client, directory):
    StatusChangeFactory(account=directory["mh"], username="auditor")
    url = reverse("admin:accounts_statuschange_changelist")
    response = client.get(url, {"q": "auditor"})
    assert [row.account.key for row in changelist_rows(response)] == ["MANAGED_HOSTING/5342823"]
    assert client.get(reverse("admin:accounts_statuschange_add")).status_code == 403


# --- contacts and metadata inlines on the account ---------------------------------------------------------------


def test_contact_inline_sets_roles_through_the_service(client, directory):
    account = directory["cloud"]
    link = AccountContactFactory(account=account, roles=["TECHNICAL"])
    newcomer = ContactFactory(customer=account.customer)
    response = client.get(change_url(account))
    data = changeform_data(response)
    prefix = inline_prefix(response, AccountContact)
    data[f"{prefix}-0-roles"] = ["BILLING", "PRIMARY"]
    add_inline_row(data, prefix, contact=str(newcomer.pk), roles=["ADMINISTRATIVE"])
    response = client.post(change_url(account), data)
    assert response.status_code == 302
    roles = {
        contact.contact_number: sorted(r.role for r in contact.account_links.get(account=account).roles.all())
        for contact in account.contacts.all()
    }
    assert roles == {link.contact.contact_number: ["BILLING", "PRIMARY"], newcomer.contact_number: ["ADMINISTRATIVE"]}
    newcomer.refresh_from_db()
    assert newcomer.last_updated_by == "boss"

    data = changeform_data(client.get(change_url(account)))
    data[f"{prefix}-0-DELETE"] = "on"
    assert client.post(change_url(account), data).status_code == 302
    assert list(account.contacts.all()) == [newcomer]


def test_account_change_page_queries_are_bounded(client, directory):
    account = directory["cloud"]
    for _ in range(2):
        AccountContactFactory(account=account, roles=["BILLING", "TECHNICAL"])
    client.get(change_url(account))  # warm the content-type cache
    with CaptureQueriesContext(connection) as few:
        assert client.get(change_url(account)).status_code == 200
    for _ in range(8):
        AccountContactFactory(account=account, roles=["BILLING", "PRIMARY"])
        services.account_nickname_change(account=account, actor=Actor("x"), nickname="n")
    with CaptureQueriesContext(connection) as many:
        assert client.get(change_url(account)).status_code == 200
    assert len(many) == len(few)


# --- actions with an intermediate form ----------------------------------------------------------------------------


def test_change_status_action(client, directory):
    accounts = [directory["cloud"], directory["mh"]]
    response = client.post(CHANGELIST, action_data("change_status", accounts))
    assert response.status_code == 200  # the intermediate form
    assert b"Change status" in response.content
    response = client.post(
        CHANGELIST,
        action_data("change_status", accounts, apply="1", status="Closed", access_policy="", fraud_status=""),
    )
    assert response.status_code == 302
    for account in accounts:
        account.refresh_from_db()
        assert account.status == "Closed"
        status, history, _ = trail_rows(account)
        assert [h[0] for h in history] == ["LEGACY_ACCOUNT_STATUS"]
        assert status[0][0] == "Closed" and status[0][4:] == ("boss", "RACKER")
    assert trail_rows(directory["faws"]) == ([], [], [])


def test_change_status_action_records_a_reason_within_the_services_limit(client, directory):
    account = directory["cloud"]

    def apply(reason):
        data = action_data("change_status", [account], apply="1", status="Closed", access_policy="", fraud_status="")
        return client.post(CHANGELIST, {**data, "reason": reason}, follow=True)

    response = apply("x" * (REASON_MAX_LENGTH + 1))
    assert f"at most {REASON_MAX_LENGTH} characters" in response.content.decode()
    assert trail_rows(account) == ([], [], [])
    apply("Closed at the customer's request")
    assert StatusChange.objects.get(account=account).reason == "Closed at the customer's request"


def test_change_status_action_needs_a_choice(client, directory):
    response = client.post(CHANGELIST, action_data("change_status", [directory["cloud"]], apply="1"))
    assert response.status_code == 200
    assert response.context["form"].errors
    assert trail_rows(directory["cloud"]) == ([], [], [])


def test_collections_action(client, directory):
    account = directory["cloud"]
    response = client.post(
        CHANGELIST,
        action_data("change_collections_status", [account], apply="1", collections_status="DELINQUENT_LEVEL_1"),
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.collections_status == "DELINQUENT_LEVEL_1"
    assert [h[0] for h in trail_rows(account)[1]] == ["COLLECTIONS_STATUS"]


def test_move_action_is_all_or_nothing(client, directory):
    globex = Customer.objects.get(rcn="RCN-444-555-666")
    # faws already belongs to Globex: the service refuses it, so nothing moves.
    selected = [directory["cloud"], directory["faws"]]
    response = client.post(CHANGELIST, action_data("move_to_customer", selected, apply="1", rcn=globex.rcn))
    assert response.status_code == 302
    assert any("Nothing changed" in str(m) for m in response.wsgi_request._messages)
    directory["cloud"].refresh_from_db()
    assert directory["cloud"].customer.rcn == "RCN-111-222-333"
    assert not RCNChange.objects.exists() and not AccountHistory.objects.exists()

    response = client.post(CHANGELIST, action_data("move_to_customer", [directory["cloud"]], apply="1", rcn=globex.rcn))
    directory["cloud"].refresh_from_db()
    assert directory["cloud"].customer == globex
    assert trail_rows(directory["cloud"])[2] == [("RCN_UPDATE", "RCN-444-555-666", "boss")]


def test_move_action_lists_the_contacts_taken_off_before_it_moves(client, directory):
    account = directory["cloud"]
    AccountContactFactory(
        account=account,
        contact__contact_number="RPN-000-111-007",
        contact__first_name="Mike",
        contact__last_name="Jones",
        roles=["TECHNICAL", "BILLING"],
    )
    data = action_data("move_to_customer", [account], apply="1", rcn="RCN-444-555-666")
    response = client.post(CHANGELIST, data)
    assert response.status_code == 200  # shown first, nothing moved
    body = response.content.decode()
    assert "CLOUD/10101: Mike Jones (RPN-000-111-007): TECHNICAL, BILLING" in body
    assert "Submit again" in body
    account.refresh_from_db()
    assert account.customer.rcn == "RCN-111-222-333" and account.contact_links.count() == 1

    shown = response.context["form"].data["shown"]
    response = client.post(CHANGELIST, {**data, "shown": shown})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.customer.rcn == "RCN-444-555-666"
    assert not account.contact_links.exists()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert "Taken off, with their roles there: CLOUD/10101: Mike Jones (RPN-000-111-007): TECHNICAL, BILLING." in (
        messages
    )


def test_admin_customer_change_takes_the_old_contacts_off_and_says_so(
    client, directory, django_capture_on_commit_callbacks
):
    account = directory["cloud"]
    AccountContactFactory(account=account, contact__contact_number="RPN-000-111-007", roles=["PRIMARY"])
    data = changeform_data(client.get(change_url(account)))
    data["customer"] = str(Customer.objects.get(rcn="RCN-444-555-666").pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(account), data)
    assert response.status_code == 302
    assert not account.contact_links.exists()
    assert any("RPN-000-111-007" in str(m) and "PRIMARY" in str(m) for m in response.wsgi_request._messages)


def test_move_action_to_unknown_customer_is_a_form_error(client, directory):
    response = client.post(
        CHANGELIST, action_data("move_to_customer", [directory["cloud"]], apply="1", rcn="RCN-999-999-999")
    )
    assert response.status_code == 200
    assert "rcn" in response.context["form"].errors


def test_merge_customers_action(client, directory):
    url = reverse("admin:accounts_customer_changelist")
    acme = Customer.objects.get(rcn="RCN-111-222-333")
    contact = ContactFactory(customer=acme)
    response = client.post(url, action_data("merge_into_customer", [acme], apply="1", rcn="RCN-444-555-666"))
    assert response.status_code == 302
    assert not Customer.objects.filter(rcn="RCN-111-222-333").exists()
    contact.refresh_from_db()
    assert contact.customer.rcn == "RCN-444-555-666"
    for key in ("cloud", "mh"):
        _, history, rcn = trail_rows(directory[key])
        assert [(h[0], h[1]) for h in history] == [("RCN_UPDATE", "RCN-444-555-666")]
        assert rcn == [("MERGE", "RCN-444-555-666", "boss")]


def test_merge_customer_into_itself_is_refused(client, directory):
    url = reverse("admin:accounts_customer_changelist")
    acme = Customer.objects.get(rcn="RCN-111-222-333")
    response = client.post(url, action_data("merge_into_customer", [acme], apply="1", rcn=acme.rcn))
    assert response.status_code == 302
    assert any("Nothing changed" in str(m) for m in response.wsgi_request._messages)
    assert Customer.objects.filter(pk=acme.pk).exists()


def test_customer_add_and_rename_go_through_services(client, db):
    url = reverse("admin:accounts_customer_add")
    blank = changeform_data(client.get(url))
    response = client.post(url, blank | {"rcn": "RCN-1-2-3", "name": "Bad"})
    assert response.status_code == 200 and "rcn" in response.context["adminform"].form.errors
    assert client.post(url, blank | {"rcn": "RCN-123-456-789", "name": "FreeLancer Corp"}).status_code == 302
    customer = Customer.objects.get(rcn="RCN-123-456-789")
    customer.implicit = True
    customer.save()
    change = reverse("admin:accounts_customer_change", args=[customer.pk])
    assert client.post(change, changeform_data(client.get(change)) | {"name": "Renamed"}).status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.implicit) == ("Renamed", False)


# --- scoping --------------------------------------------------------------------------------------------------------


def test_staff_without_global_view_sees_only_granted_tenants(client, directory):
    from cmsportal.identity.models import TenantGrant

    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_account"))
    TenantGrant.objects.create(user=clerk, tenant_id="hybrid:5342823")
    client.force_login(clerk)
    response = client.get(CHANGELIST)
    assert keys(response) == ["MANAGED_HOSTING/5342823"]
    assert client.get(change_url(directory["cloud"])).status_code == 302  # "does not exist" redirect
