"""Account services: each writes exactly its documented history rows, in the same transaction as the change."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F

from accounts import services
from accounts.choices import AccountStatus
from accounts.models import Account, AccountHistory, Customer, RCNChange, StatusChange
from cmsportal.identity.access import Actor
from contacts.models import AccountContact, AccountContactRole, Contact
from tests.factories import AccountContactFactory, AccountFactory, ContactFactory, CustomerFactory

RACKER = Actor("racker1", "RACKER")
CUSTOMER = Actor("john0987", "CUSTOMER")
SYSTEM = Actor.system("billing-sync")


def counts():
    """Rows of every trail (and of the objects a service may create or delete)."""
    return {
        "status": StatusChange.objects.count(),
        "history": AccountHistory.objects.count(),
        "rcn": RCNChange.objects.count(),
        "accounts": Account.objects.count(),
        "customers": Customer.objects.count(),
        "contacts": Contact.objects.count(),
    }


def grew(before, **delta):
    """`before` plus `delta`: what counts() must be after a service wrote exactly `delta`."""
    return {name: before[name] + delta.get(name, 0) for name in before}


def only(queryset):
    rows = list(queryset)
    assert len(rows) == 1, rows
    return rows[0]


@pytest.fixture
def customer(db):
    return CustomerFactory(rcn="RCN-111-222-333", name="Acme Hosting")


@pytest.fixture
def account(db, customer):
    return AccountFactory(
        customer=customer,
        account_id="10101",
        status=AccountStatus.ACTIVE,
        collections_status="CURRENT",
        access_policy="FULL",
        nickname="old-nick",
    )


# --- account_create -------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [RACKER, CUSTOMER, SYSTEM], ids=lambda a: a.type)
def test_account_create_writes_new_history_new_rcn_and_one_status(customer, actor):
    before = counts()
    account = services.account_create(
        actor=actor,
        customer=customer,
        type="CLOUD",
        account_id="5342823",
        name="FreeLancer Corp",
        nickname="FreeLancer",
        status="Pending Approval",
        collections_status="CURRENT",
        access_policy="FULL",
        fraud_status="PENDING_APPROVAL",
        service_level="managed",
    )
    assert counts() == grew(before, status=1, history=1, rcn=1, accounts=1)

    account.refresh_from_db()
    assert (account.number, account.tenant_id, account.domain) == (5342823, "5342823", "5342823")
    assert account.created_by == account.last_updated_by == actor.username
    assert account.created_date == account.last_updated_date is not None

    history = only(account.history.all())
    assert history.change_type == "NEW"
    assert history.rcn == "RCN-111-222-333"
    assert history.account_status == "Pending Approval"
    assert history.collections_status == "CURRENT"
    assert history.nickname == "FreeLancer"
    assert (history.updated_by_username, history.updated_by_type) == (actor.username, actor.type)
    assert history.destination_updated_by_username is None and history.destination_updated_by_type is None
    assert history.updated_date == account.created_date

    rcn = only(account.rcn_changes.all())
    assert (rcn.change_type, rcn.rcn, rcn.username, rcn.date) == (
        "NEW",
        "RCN-111-222-333",
        actor.username,
        account.created_date,
    )

    status = only(account.status_changes.all())
    assert status.status == "Pending Approval"
    assert status.collections_status == "CURRENT"
    assert status.access_policy == "FULL"
    assert status.fraud_status == "PENDING_APPROVAL"
    assert (status.username, status.usertype) == (actor.username, actor.type)
    assert status.date == account.created_date


@pytest.mark.parametrize(
    ("type_", "account_id", "tenant_id", "domain", "number"),
    [
        ("CLOUD", "10101", "10101", "10101", 10101),
        ("MANAGED_HOSTING", "5342823", "hybrid:5342823", "dedicated:5342823", 5342823),
        ("FANATICAL_SUPPORT_FOR_AWS", "5342823", "faws:5342823", None, 5342823),
        ("CLOUD", "RAN2823", "RAN2823", "RAN2823", None),
    ],
)
def test_account_create_defaults_per_type(customer, type_, account_id, tenant_id, domain, number):
    account = services.account_create(actor=RACKER, customer=customer, type=type_, account_id=account_id)
    account.refresh_from_db()
    assert (account.tenant_id, account.domain, account.number) == (tenant_id, domain, number)


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "DEDICATED"},
        {"status": "Open"},
        {"collections_status": "LATE"},
        {"access_policy": "PARTIAL"},
        {"fraud_status": "MAYBE"},
        {"account_id": ""},
    ],
)
def test_account_create_rejects_bad_choices_and_writes_nothing(customer, bad):
    before = counts()
    kwargs = {"actor": RACKER, "customer": customer, "type": "CLOUD", "account_id": "777"} | bad
    with pytest.raises(ValidationError):
        services.account_create(**kwargs)
    assert counts() == before


def test_account_create_rejects_duplicate_type_and_id(account, customer):
    before = counts()
    with pytest.raises(ValidationError):
        services.account_create(actor=RACKER, customer=customer, type="CLOUD", account_id="10101")
    assert counts() == before
    # The same id under another type is a different account.
    services.account_create(actor=RACKER, customer=customer, type="MANAGED_HOSTING", account_id="10101")
    assert counts() == grew(before, accounts=1, status=1, history=1, rcn=1)


# --- account_status_change ------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [RACKER, CUSTOMER, SYSTEM], ids=lambda a: a.type)
def test_status_change_writes_status_change_and_legacy_history(account, actor):
    before = counts()
    services.account_status_change(
        account=account, actor=actor, status="Suspended", access_policy="SUSPENDED", fraud_status="REJECT"
    )
    assert counts() == grew(before, status=1, history=1)

    account.refresh_from_db()
    assert (account.status, account.access_policy) == ("Suspended", "SUSPENDED")
    assert account.last_updated_by == actor.username

    status = only(account.status_changes.all())
    assert (status.status, status.access_policy, status.collections_status, status.fraud_status) == (
        "Suspended",
        "SUSPENDED",
        "CURRENT",
        "REJECT",
    )
    assert (status.username, status.usertype, status.date) == (actor.username, actor.type, account.last_updated_date)

    history = only(account.history.all())
    assert history.change_type == "LEGACY_ACCOUNT_STATUS"
    assert (history.account_status, history.collections_status, history.nickname, history.rcn) == (
        "Suspended",
        "CURRENT",
        "old-nick",
        "RCN-111-222-333",
    )
    assert (history.updated_by_username, history.updated_by_type) == (actor.username, actor.type)
    assert history.updated_date == account.last_updated_date
    assert history.destination_updated_by_username is None


def test_status_change_access_policy_only_keeps_status(account):
    services.account_status_change(account=account, actor=RACKER, access_policy="SUSPENDED")
    account.refresh_from_db()
    assert (account.status, account.access_policy) == ("Active", "SUSPENDED")
    status = only(account.status_changes.all())
    assert (status.status, status.access_policy, status.fraud_status) == ("Active", "SUSPENDED", None)


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"status": "Open"},
        {"status": "active"},
        {"access_policy": "NONE"},
        {"status": "Active", "fraud_status": "X"},
    ],
)
def test_status_change_rejects_bad_input_and_writes_nothing(account, bad):
    before = counts()
    with pytest.raises(ValidationError):
        services.account_status_change(account=account, actor=RACKER, **bad)
    assert counts() == before
    account.refresh_from_db()
    assert (account.status, account.access_policy) == ("Active", "FULL")


# --- account_collections_status_change ------------------------------------------------------------


@pytest.mark.parametrize("actor", [RACKER, CUSTOMER, SYSTEM], ids=lambda a: a.type)
def test_collections_status_change_writes_history_and_status_change(account, actor):
    before = counts()
    services.account_collections_status_change(account=account, actor=actor, collections_status="DELINQUENT_LEVEL_2")
    assert counts() == grew(before, status=1, history=1)
    account.refresh_from_db()
    assert account.collections_status == "DELINQUENT_LEVEL_2"

    history = only(account.history.all())
    assert history.change_type == "COLLECTIONS_STATUS"
    assert (history.collections_status, history.account_status, history.rcn) == (
        "DELINQUENT_LEVEL_2",
        "Active",
        "RCN-111-222-333",
    )
    assert (history.updated_by_username, history.updated_by_type) == (actor.username, actor.type)

    status = only(account.status_changes.all())
    assert (status.status, status.collections_status, status.access_policy) == ("Active", "DELINQUENT_LEVEL_2", "FULL")
    assert (status.username, status.usertype) == (actor.username, actor.type)
    assert status.date == history.updated_date == account.last_updated_date


@pytest.mark.parametrize("bad", [None, "", "LATE", "current"])
def test_collections_status_change_rejects_bad_values(account, bad):
    before = counts()
    with pytest.raises(ValidationError):
        services.account_collections_status_change(account=account, actor=RACKER, collections_status=bad)
    assert counts() == before
    account.refresh_from_db()
    assert account.collections_status == "CURRENT"


# --- account_nickname_change ----------------------------------------------------------------------


@pytest.mark.parametrize("actor", [RACKER, CUSTOMER, SYSTEM], ids=lambda a: a.type)
def test_nickname_change_writes_one_nickname_row(account, actor):
    before = counts()
    services.account_nickname_change(account=account, actor=actor, nickname="rackspace")
    assert counts() == grew(before, history=1)
    account.refresh_from_db()
    assert account.nickname == "rackspace"
    history = only(account.history.all())
    assert (history.change_type, history.nickname, history.account_status, history.collections_status) == (
        "NICKNAME",
        "rackspace",
        "Active",
        "CURRENT",
    )
    assert (history.updated_by_username, history.updated_by_type) == (actor.username, actor.type)


def test_nickname_change_to_empty_removes_it(account):
    services.account_nickname_change(account=account, actor=RACKER, nickname="")
    account.refresh_from_db()
    assert account.nickname is None
    assert only(account.history.all()).nickname is None


def test_nickname_too_long_is_rejected(account):
    before = counts()
    with pytest.raises(ValidationError):
        services.account_nickname_change(account=account, actor=RACKER, nickname="x" * 300)
    assert counts() == before


# --- account_update -------------------------------------------------------------------------------


def test_account_update_changes_fields_and_writes_no_history(account):
    before = counts()
    services.account_update(account=account, actor=CUSTOMER, name="New Name", service_level="intensive", number=42)
    assert counts() == before
    account.refresh_from_db()
    assert (account.name, account.service_level, account.number) == ("New Name", "intensive", 42)
    assert account.last_updated_by == "john0987"


@pytest.mark.parametrize("field", ["status", "collections_status", "nickname", "customer", "type", "account_id"])
def test_account_update_refuses_fields_that_have_their_own_service(account, field):
    with pytest.raises(ValidationError):
        services.account_update(account=account, actor=RACKER, **{field: "x"})
    account.refresh_from_db()
    assert account.status == "Active" and account.nickname == "old-nick"


# --- account_move ---------------------------------------------------------------------------------


def test_account_move_writes_rcn_update_with_destination(account):
    target = CustomerFactory(rcn="RCN-000-000-002")
    receiver = Actor("xyz123", "RACKER")
    before = counts()
    services.account_move(account=account, actor=CUSTOMER, customer=target, destination_actor=receiver)
    assert counts() == grew(before, history=1, rcn=1)
    account.refresh_from_db()
    assert account.customer == target

    history = only(account.history.all())
    assert history.change_type == "RCN_UPDATE"
    assert history.rcn == "RCN-000-000-002"
    assert (history.updated_by_username, history.updated_by_type) == ("john0987", "CUSTOMER")
    assert (history.destination_updated_by_username, history.destination_updated_by_type) == ("xyz123", "RACKER")
    assert (history.account_status, history.collections_status, history.nickname) == ("Active", "CURRENT", "old-nick")

    rcn = only(account.rcn_changes.all())
    assert (rcn.change_type, rcn.rcn, rcn.username, rcn.date) == (
        "RCN_UPDATE",
        "RCN-000-000-002",
        "john0987",
        history.updated_date,
    )


def test_account_move_destination_defaults_to_actor(account):
    services.account_move(account=account, actor=SYSTEM, customer=CustomerFactory())
    history = only(account.history.all())
    assert (history.destination_updated_by_username, history.destination_updated_by_type) == (
        "billing-sync",
        "SYSTEM",
    )


def test_account_move_to_same_customer_is_rejected(account, customer):
    before = counts()
    with pytest.raises(ValidationError):
        services.account_move(account=account, actor=RACKER, customer=customer)
    assert counts() == before


def test_account_move_takes_the_old_customers_contacts_off_and_returns_them(account, customer):
    target = CustomerFactory(rcn="RCN-000-000-002")
    mike = AccountContactFactory(
        account=account,
        contact__contact_number="RPN-000-111-007",
        contact__first_name="Mike",
        contact__last_name="Jones",
        roles=["TECHNICAL", "BILLING"],
    ).contact
    ann = AccountContactFactory(account=account, contact__contact_number="RPN-000-111-008", roles=[]).contact
    elsewhere = AccountFactory(customer=customer, account_id="10102")
    kept = AccountContactFactory(account=elsewhere, contact=mike, roles=["PRIMARY"])

    moved = services.account_move(account=account, actor=RACKER, customer=target)

    assert moved.account.customer == target
    assert [(r.contact_number, r.name, r.rcn, r.account, r.roles) for r in moved.removed] == [
        ("RPN-000-111-007", "Mike Jones", "RCN-111-222-333", "CLOUD/10101", ("TECHNICAL", "BILLING")),
        ("RPN-000-111-008", f"{ann.first_name} {ann.last_name}", "RCN-111-222-333", "CLOUD/10101", ()),
    ]
    assert str(moved.removed[0]) == "Mike Jones (RPN-000-111-007): TECHNICAL, BILLING"
    assert not AccountContact.objects.filter(account=account).exists()
    assert not AccountContactRole.objects.filter(link__account=account).exists()
    # The contacts stay with their customer, and keep their roles on its other accounts.
    assert list(AccountContact.objects.filter(contact=mike)) == [kept]
    for contact in (mike, ann):
        contact.refresh_from_db()
        assert contact.customer == customer
        assert contact.last_updated_by == "racker1"
        assert contact.last_updated_date == moved.account.last_updated_date
    assert only(account.history.all()).change_type == "RCN_UPDATE"


def test_roles_leaving_previews_what_a_move_removes(account, customer):
    target = CustomerFactory(rcn="RCN-000-000-002")
    AccountContactFactory(account=account, contact__contact_number="RPN-000-111-007", roles=["PRIMARY"])
    preview = services.roles_leaving(account, target)
    assert [(r.contact_number, r.roles) for r in preview] == [("RPN-000-111-007", ("PRIMARY",))]
    assert services.roles_leaving(account, customer) == []
    assert AccountContact.objects.count() == 1  # a preview changes nothing
    assert services.account_move(account=account, actor=RACKER, customer=target).removed == preview


def test_account_move_refused_removes_no_roles(account, customer):
    AccountContactFactory(account=account, roles=["PRIMARY"])
    with pytest.raises(ValidationError):
        services.account_move(account=account, actor=RACKER, customer=customer)
    assert AccountContactRole.objects.count() == 1


# --- customers_merge ------------------------------------------------------------------------------


def test_customers_merge_moves_accounts_and_contacts_and_deletes_source(db):
    source = CustomerFactory(rcn="RCN-000-000-001", name="Old Co")
    target = CustomerFactory(rcn="RCN-000-000-002", name="New Co")
    moved = [AccountFactory(customer=source, account_id=str(n)) for n in (301, 302)]
    bystander = AccountFactory(customer=target, account_id="303")
    contact = AccountContactFactory(account=moved[0]).contact
    loose_contact = ContactFactory(customer=source)
    before = counts()

    services.customers_merge(source=source, target=target, actor=RACKER)

    assert counts() == grew(before, history=2, rcn=2, customers=-1)
    assert not Customer.objects.filter(rcn="RCN-000-000-001").exists()
    for account in moved:
        account.refresh_from_db()
        assert account.customer == target
        history = only(account.history.all())
        assert (history.change_type, history.rcn) == ("RCN_UPDATE", "RCN-000-000-002")
        assert (history.updated_by_username, history.updated_by_type) == ("racker1", "RACKER")
        assert (history.destination_updated_by_username, history.destination_updated_by_type) == ("racker1", "RACKER")
        rcn = only(account.rcn_changes.all())
        assert (rcn.change_type, rcn.rcn, rcn.username) == ("MERGE", "RCN-000-000-002", "racker1")
        assert account.last_updated_by == "racker1"
    assert not bystander.history.exists() and not bystander.rcn_changes.exists()
    contact.refresh_from_db()
    loose_contact.refresh_from_db()
    assert contact.customer == target and loose_contact.customer == target
    assert contact.accounts.get() == moved[0]


def test_customers_merge_keeps_contacts_on_their_customers_accounts(db):
    source = CustomerFactory(rcn="RCN-000-000-001")
    target = CustomerFactory(rcn="RCN-000-000-002")
    third = CustomerFactory(rcn="RCN-000-000-003")
    moved = AccountFactory(customer=source, account_id="301")
    theirs = AccountFactory(customer=target, account_id="302")
    others = AccountFactory(customer=third, account_id="303")
    own = AccountContactFactory(account=moved, roles=["PRIMARY"])
    target_own = AccountContactFactory(account=theirs, roles=["BILLING"])
    # Links that broke the rule before it was enforced (imported data): written directly.
    stranger = ContactFactory(customer=third, contact_number="RPN-000-000-031")
    AccountContactRole.objects.create(
        link=AccountContact.objects.create(account=moved, contact=stranger), role="TECHNICAL"
    )
    AccountContactRole.objects.create(
        link=AccountContact.objects.create(account=others, contact=own.contact), role="BILLING"
    )

    services.customers_merge(source=source, target=target, actor=RACKER)

    assert set(AccountContact.objects.all()) == {own, target_own}
    assert not AccountContact.objects.exclude(contact__customer=F("account__customer")).exists()
    own.contact.refresh_from_db()
    assert own.contact.customer == target
    assert list(own.contact.accounts.all()) == [moved]
    stranger.refresh_from_db()
    assert (stranger.customer, stranger.last_updated_by) == (third, "racker1")


def test_customers_merge_names_an_implicit_target(db):
    source = CustomerFactory(rcn="RCN-000-000-001", name="Old Co")
    target = CustomerFactory(rcn="RCN-000-000-002", name=None, implicit=True)
    services.customers_merge(source=source, target=target, actor=RACKER)
    target.refresh_from_db()
    assert (target.name, target.implicit) == ("Old Co", False)


def test_customers_merge_into_itself_is_rejected(customer, account):
    before = counts()
    with pytest.raises(ValidationError):
        services.customers_merge(source=customer, target=customer, actor=RACKER)
    assert counts() == before


# --- customers ------------------------------------------------------------------------------------


def test_customer_create_validates_rcn(db):
    with pytest.raises(ValidationError):
        services.customer_create(rcn="RCN-12-345-678")
    with pytest.raises(ValidationError):
        services.customer_create(rcn="RCN-123-456-789x")
    customer = services.customer_create(rcn="RCN-123-456-789", name="FreeLancer Corp")
    with pytest.raises(ValidationError):
        services.customer_create(rcn="RCN-123-456-789")
    assert Customer.objects.get(rcn="RCN-123-456-789") == customer


def test_customer_rename_makes_an_implicit_customer_explicit(db):
    customer = CustomerFactory(name=None, implicit=True)
    services.customer_rename(customer=customer, name="Named")
    customer.refresh_from_db()
    assert (customer.name, customer.implicit) == ("Named", False)


# --- atomicity: a failure while writing history leaves nothing behind -----------------------------


class Boom(Exception):
    pass


def _explode(*args, **kwargs):
    raise Boom("history write failed")


def _explode_after_write(real):
    """A history writer that writes its row, then fails: the row must be rolled back too."""

    def writer(*args, **kwargs):
        real(*args, **kwargs)
        raise Boom("history write failed after the row was written")

    return writer


def snapshot(account):
    row = Account.objects.get(pk=account.pk)
    return {
        field: getattr(row, field)
        for field in (
            "customer_id",
            "status",
            "collections_status",
            "access_policy",
            "nickname",
            "last_updated_by",
            "last_updated_date",
        )
    }


FAILURES = [
    ("_record_history", False),
    ("_record_history", True),
    ("_record_status", False),
    ("_record_status", True),
    ("_record_rcn", False),
    ("_record_rcn", True),
]


def _inject(monkeypatch, writer, after_write):
    monkeypatch.setattr(services, writer, _explode_after_write(getattr(services, writer)) if after_write else _explode)


CHANGES = {
    "status": (
        lambda account, target: services.account_status_change(account=account, actor=RACKER, status="Closed"),
        {"_record_history", "_record_status"},
    ),
    "collections": (
        lambda account, target: services.account_collections_status_change(
            account=account, actor=RACKER, collections_status="WRITTEN_OFF"
        ),
        {"_record_history", "_record_status"},
    ),
    "nickname": (
        lambda account, target: services.account_nickname_change(account=account, actor=RACKER, nickname="new"),
        {"_record_history"},
    ),
    "move": (
        lambda account, target: services.account_move(account=account, actor=RACKER, customer=target),
        {"_record_history", "_record_rcn"},
    ),
    "merge": (
        lambda account, target: services.customers_merge(source=account.customer, target=target, actor=RACKER),
        {"_record_history", "_record_rcn"},
    ),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("change", "writer", "after_write"),
    [
        (change, writer, after)
        for change in sorted(CHANGES)
        for writer, after in FAILURES
        if writer in CHANGES[change][1]
    ],
)
def test_failed_history_write_rolls_back_the_change(monkeypatch, change, writer, after_write):
    run, _ = CHANGES[change]
    source = CustomerFactory(rcn="RCN-000-000-001")
    target = CustomerFactory(rcn="RCN-000-000-002")
    account = AccountFactory(
        customer=source, status="Active", collections_status="CURRENT", access_policy="FULL", nickname="old"
    )
    ContactFactory(customer=source)
    state, before = snapshot(account), counts()
    _inject(monkeypatch, writer, after_write)

    with pytest.raises(Boom):
        run(account, target)

    assert snapshot(account) == state
    assert counts() == before
    assert Customer.objects.filter(pk=source.pk).exists()
    assert Contact.objects.get().customer_id == source.pk
    assert not AccountHistory.objects.exists() and not StatusChange.objects.exists() and not RCNChange.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("writer", "after_write"), FAILURES)
def test_failed_history_write_rolls_back_account_create(monkeypatch, writer, after_write):
    customer = CustomerFactory()
    before = counts()
    _inject(monkeypatch, writer, after_write)
    with pytest.raises(Boom):
        services.account_create(actor=RACKER, customer=customer, type="CLOUD", account_id="999")
    assert counts() == before
    assert not Account.objects.filter(account_id="999").exists()


def test_customer_delete_deletes_an_empty_customer_only(db):
    empty, busy, with_contact = (CustomerFactory(rcn=f"RCN-555-000-00{n}") for n in (1, 2, 3))
    AccountFactory(customer=busy)
    ContactFactory(customer=with_contact)
    services.customer_delete(customer=empty)
    assert not Customer.objects.filter(pk=empty.pk).exists()
    for kept in (busy, with_contact):
        with pytest.raises(ValidationError, match="merge it into another customer"):
            services.customer_delete(customer=kept)
        assert Customer.objects.filter(pk=kept.pk).exists()
    with pytest.raises(ValidationError, match="no longer exists"):
        services.customer_delete(customer=empty)
