"""Every service that changes the directory writes exactly the change records below, in its own transaction.

Each test is marked `@records_of("module.function", ...)`; test_every_writing_service_has_a_record_test
enumerates the services modules' public writing functions and fails for one no test is marked with.
"""

import inspect
import re
from unittest import mock

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError

import accounts.services
import cmsportal.services
import contacts.services
import metadata.services
from accounts.models import Customer
from cmsportal.changes.choices import ObjectType
from cmsportal.changes.context import change_context
from cmsportal.changes.models import Change
from cmsportal.identity import services as identity
from cmsportal.identity.access import Actor
from cmsportal.identity.models import ApiKey, TenantGrant, Token
from contacts.models import Contact
from metadata.models import Metadata, Namespace
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    ContactFactory,
    CustomerFactory,
    MetadataFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SERVICE_MODULES = (accounts.services, contacts.services, metadata.services, identity, cmsportal.services)
WRITING = re.compile(r"_(create|update|delete|set|save|change|move|merge|issue|revoke|rename|grant|ensure|remove)(_|$)")
# Writing services that are not changes to the directory, so the change log does not record them.
NOT_RECORDED = {
    "cmsportal.services.saved_filter_save": "a user's own saved list filter: a preference, not the directory",
    "cmsportal.services.saved_filter_delete": "a user's own saved list filter: a preference, not the directory",
}

# Names that match the pattern but only read: permission checks (can_*) and the risks a change would run.
READS_ONLY = {"accounts.services.status_change_risks"}

COVERED: set[str] = set()


def records_of(*names):
    COVERED.update(names)
    return lambda test: test


ACTOR = Actor("tester", "RACKER")


def new_records(since: int) -> list[Change]:
    return list(Change.objects.filter(id__gt=since).order_by("id"))


def last_id() -> int:
    return Change.objects.order_by("-id").values_list("id", flat=True).first() or 0


def shape(change: Change) -> tuple:
    return (change.object_type, change.object_key, change.action)


def test_every_writing_service_has_a_record_test():
    missing = []
    for module in SERVICE_MODULES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith(("_", "can_")) or function.__module__ != module.__name__ or not WRITING.search(name):
                continue
            qualified = f"{module.__name__}.{name}"
            if qualified in READS_ONLY:
                continue
            if qualified not in COVERED and qualified not in NOT_RECORDED:
                missing.append(qualified)
    assert not missing, f"writing services with no change-record test: {missing}"
    assert "cmsportal.identity.services.tokens_revoke_for_user" in COVERED  # the enumeration sees these names


# --- accounts and customers ---------------------------------------------------------------------------------------


@records_of(
    "accounts.services.customer_create", "accounts.services.customer_rename", "accounts.services.customer_delete"
)
def test_customer_services():
    start = last_id()
    customer = accounts.services.customer_create(rcn="RCN-900-000-001", name="Acme", actor=ACTOR)
    accounts.services.customer_rename(customer=customer, name="Acme Two", actor=ACTOR)
    accounts.services.customer_delete(customer=Customer.objects.get(pk=customer.pk), actor=ACTOR)
    created, renamed, deleted = new_records(start)
    assert [shape(c) for c in (created, renamed, deleted)] == [
        ("customer", "RCN-900-000-001", "create"),
        ("customer", "RCN-900-000-001", "update"),
        ("customer", "RCN-900-000-001", "delete"),
    ]
    assert created.after["name"] == "Acme" and created.before is None
    assert renamed.before == {"name": "Acme"} and renamed.after == {"name": "Acme Two"}
    assert deleted.before["name"] == "Acme Two" and deleted.after is None
    assert {c.actor_username for c in (created, renamed, deleted)} == {"tester"}


@records_of(
    "accounts.services.account_create",
    "accounts.services.account_status_change",
    "accounts.services.account_collections_status_change",
    "accounts.services.account_nickname_change",
    "accounts.services.account_update",
    "accounts.services.account_move",
)
def test_account_services():
    home, other = CustomerFactory(rcn="RCN-900-000-002"), CustomerFactory(rcn="RCN-900-000-003")
    start = last_id()
    account = accounts.services.account_create(
        actor=ACTOR, customer=home, type="CLOUD", account_id="900001", name="Shop"
    )
    accounts.services.account_status_change(account=account, actor=ACTOR, status="Delinquent")
    accounts.services.account_collections_status_change(
        account=account, actor=ACTOR, collections_status="DELINQUENT_LEVEL_1"
    )
    accounts.services.account_nickname_change(account=account, actor=ACTOR, nickname="shop")
    accounts.services.account_update(account=account, actor=ACTOR, name="Shop Two")
    accounts.services.account_move(account=account, actor=ACTOR, customer=other)
    records = new_records(start)
    assert [(c.action, c.object_key, c.account_key) for c in records] == [
        (a, "CLOUD/900001", "CLOUD/900001") for a in ("create", "update", "update", "update", "update", "move")
    ]
    assert records[1].after["status"] == "Delinquent"
    assert records[3].after["nickname"] == "shop"
    assert records[4].before["name"] == "Shop" and records[4].after["name"] == "Shop Two"
    assert records[5].before["rcn"] == "RCN-900-000-002" and records[5].after["rcn"] == "RCN-900-000-003"
    assert records[5].rcn == "RCN-900-000-003"


@records_of("accounts.services.customers_merge")
def test_merge_records_accounts_contacts_and_removed_roles():
    source, target = CustomerFactory(rcn="RCN-900-000-010"), CustomerFactory(rcn="RCN-900-000-011")
    third = CustomerFactory(rcn="RCN-900-000-012")
    account = AccountFactory(customer=source, account_id="900010")
    mover = ContactFactory(customer=source, contact_number="RPN-900-000-010")
    AccountContactFactory(account=account, contact=mover, roles=["BILLING"])
    stranger = ContactFactory(customer=third, contact_number="RPN-900-000-012")
    # A link that broke the rule before it held (imported data): the merge takes it off.
    from contacts.models import AccountContact, AccountContactRole

    link = AccountContact.objects.create(account=account, contact=stranger)
    AccountContactRole.objects.create(link=link, role="TECHNICAL")
    start = last_id()
    accounts.services.customers_merge(source=source, target=target, actor=ACTOR)
    records = new_records(start)
    assert [shape(c) for c in records] == [
        ("account", "CLOUD/900010", "move"),
        ("contact", "RPN-900-000-010", "move"),
        ("contact", "RPN-900-000-012", "role_remove"),
        ("customer", "RCN-900-000-011", "merge"),
        ("customer", "RCN-900-000-010", "delete"),
    ]
    moved, removed = records[1], records[2]
    assert (moved.before, moved.after, moved.rcn) == ({"rcn": source.rcn}, {"rcn": target.rcn}, target.rcn)
    assert (removed.before, removed.after) == ({"roles": ["TECHNICAL"]}, {"roles": []})
    assert (removed.account_key, removed.rcn) == ("CLOUD/900010", "RCN-900-000-012")
    assert {c.actor_username for c in records} == {"tester"}


@records_of("accounts.services.account_move")
def test_move_records_the_roles_it_takes_off():
    home, other = CustomerFactory(), CustomerFactory()
    account = AccountFactory(customer=home, account_id="900020")
    contact = ContactFactory(customer=home, contact_number="RPN-900-000-020")
    AccountContactFactory(account=account, contact=contact, roles=["TECHNICAL", "BILLING"])
    start = last_id()
    accounts.services.account_move(account=account, actor=ACTOR, customer=other)
    removed = [c for c in new_records(start) if c.object_type == ObjectType.CONTACT]
    assert [(shape(c), c.before, c.after, c.account_key) for c in removed] == [
        (
            ("contact", "RPN-900-000-020", "role_remove"),
            {"roles": ["BILLING", "TECHNICAL"]},
            {"roles": []},
            "CLOUD/900020",
        )
    ]


# --- contacts ---------------------------------------------------------------------------------------------------


@records_of(
    "contacts.services.contact_create",
    "contacts.services.contact_update",
    "contacts.services.contact_set_roles",
    "contacts.services.contact_remove_from_account",
    "contacts.services.contact_delete",
)
def test_contact_services():
    customer = CustomerFactory(rcn="RCN-900-000-030")
    account = AccountFactory(customer=customer, account_id="900030")
    start = last_id()
    contact = contacts.services.contact_create(
        actor=ACTOR,
        contact_number="RPN-900-000-030",
        customer=customer,
        first_name="Ada",
        email_addresses=[{"address": "ada@example.com", "primary": True}],
        accounts={account: ["technical"]},
    )
    created, roles_added = new_records(start)
    assert shape(created) == ("contact", "RPN-900-000-030", "create")
    assert created.after["firstName"] == "Ada" and created.after["rcn"] == customer.rcn
    assert created.after["emailAddresses"] == {"emailAddress": [{"address": "ada@example.com", "primary": True}]}
    assert (created.rcn, created.account_key) == (customer.rcn, None)
    assert shape(roles_added) == ("contact", "RPN-900-000-030", "role_add")
    assert (roles_added.before, roles_added.after) == ({"roles": []}, {"roles": ["TECHNICAL"]})
    assert (roles_added.account_key, roles_added.rcn) == ("CLOUD/900030", customer.rcn)

    start = last_id()
    contacts.services.contact_update(contact=contact, actor=ACTOR, first_name="Ada L.")
    (updated,) = new_records(start)
    assert shape(updated) == ("contact", "RPN-900-000-030", "update")
    assert updated.before["firstName"] == "Ada" and updated.after["firstName"] == "Ada L."
    assert "emailAddresses" not in updated.after  # only what changed

    start = last_id()
    contacts.services.contact_set_roles(contact=contact, account=account, roles=["TECHNICAL", "BILLING"], actor=ACTOR)
    contacts.services.contact_set_roles(contact=contact, account=account, roles=["BILLING"], actor=ACTOR)
    contacts.services.contact_set_roles(contact=contact, account=account, roles=["BILLING"], actor=ACTOR)  # no change
    added, taken = new_records(start)
    assert (added.action, added.before, added.after) == (
        "role_add",
        {"roles": ["TECHNICAL"]},
        {"roles": ["BILLING", "TECHNICAL"]},
    )
    assert (taken.action, taken.before, taken.after) == (
        "role_remove",
        {"roles": ["BILLING", "TECHNICAL"]},
        {"roles": ["BILLING"]},
    )

    start = last_id()
    contacts.services.contact_remove_from_account(contact=contact, account=account, actor=ACTOR)
    (off,) = new_records(start)
    assert (off.action, off.before, off.after, off.account_key) == (
        "role_remove",
        {"roles": ["BILLING"]},
        {"roles": []},
        "CLOUD/900030",
    )

    contacts.services.contact_set_roles(contact=contact, account=account, roles=["ADMINISTRATIVE"], actor=ACTOR)
    start = last_id()
    contacts.services.contact_delete(contact=contact, actor=ACTOR)
    off, deleted = new_records(start)
    assert (off.action, off.before) == ("role_remove", {"roles": ["ADMINISTRATIVE"]})
    assert shape(deleted) == ("contact", "RPN-900-000-030", "delete")
    assert deleted.before["firstName"] == "Ada L." and deleted.after is None
    assert all(c.actor_username == "tester" for c in Change.objects.filter(object_type="contact"))


# --- metadata and namespaces ---------------------------------------------------------------------------------


@records_of("metadata.services.metadata_set", "metadata.services.metadata_delete")
def test_metadata_services():
    account = AccountFactory(customer=CustomerFactory(rcn="RCN-900-000-040"), account_id="900040")
    start = last_id()
    metadata.services.metadata_set(account=account, key="billing:plan", value="gold", actor=ACTOR)
    metadata.services.metadata_set(account=account, key="billing:plan", value="platinum", actor=ACTOR)
    metadata.services.metadata_delete(account=account, key="billing:plan", actor=ACTOR)
    created, updated, deleted = new_records(start)
    for change, action in ((created, "create"), (updated, "update"), (deleted, "delete")):
        assert shape(change) == ("metadata", "CLOUD/900040 billing:plan", action)
        assert (change.namespace, change.account_key, change.rcn) == ("billing", "CLOUD/900040", "RCN-900-000-040")
    assert created.after["value"] == "gold" and created.after["key"] == "billing:plan" and created.before is None
    assert updated.before["value"] == "gold" and updated.after["value"] == "platinum"
    assert deleted.before["value"] == "platinum" and deleted.after is None


@records_of("metadata.services.namespace_save", "metadata.services.namespace_delete")
def test_namespace_services():
    readers = Group.objects.create(name="readers")
    start = last_id()
    with change_context(actor=Actor.system("admin-test")):
        namespace = metadata.services.namespace_save(namespace=Namespace(name="billing", access="READ_RESTRICTED"))
        metadata.services.namespace_save(namespace=namespace, readers=[readers])
    metadata.services.namespace_delete(namespace=namespace, actor=ACTOR)
    created, updated, deleted = new_records(start)
    assert [shape(c) for c in (created, updated, deleted)] == [
        ("namespace", "billing", "create"),
        ("namespace", "billing", "update"),
        ("namespace", "billing", "delete"),
    ]
    assert created.after == {"name": "billing", "access": "READ_RESTRICTED", "readers": [], "writers": []}
    assert (updated.before, updated.after) == ({"readers": []}, {"readers": ["readers"]})
    assert deleted.before["readers"] == ["readers"]
    assert [c.actor_username for c in (created, updated, deleted)] == ["admin-test", "admin-test", "tester"]


# --- identity -------------------------------------------------------------------------------------------------


@records_of(
    "cmsportal.identity.services.token_issue",
    "cmsportal.identity.services.token_revoke",
    "cmsportal.identity.services.token_delete",
    "cmsportal.identity.services.tokens_revoke_for_user",
)
def test_token_services():
    user = UserFactory(username="ann")
    start = last_id()
    token, _ = identity.token_issue(user, ["PASSWORD"])
    identity.token_revoke(token)
    identity.token_revoke(token)  # revoked already: nothing
    other, _ = identity.token_issue(user, ["APIKEY"])
    identity.tokens_revoke_for_user(user, actor=ACTOR)
    identity.token_delete(token=other, actor=ACTOR)
    issued, revoked, issued2, revoked2, deleted = new_records(start)
    assert [shape(c) for c in (issued, revoked, issued2, revoked2, deleted)] == [
        ("token", f"ann {token.pk}", "issue"),
        ("token", f"ann {token.pk}", "revoke"),
        ("token", f"ann {other.pk}", "issue"),
        ("token", f"ann {other.pk}", "revoke"),
        ("token", f"ann {other.pk}", "delete"),
    ]
    assert set(issued.after) == {"user", "created", "expires", "authenticatedBy", "revoked"}
    assert issued.after["authenticatedBy"] == ["PASSWORD"] and issued.actor_username == "ann"
    assert revoked.before == {"revoked": None} and revoked.after["revoked"]
    assert revoked2.actor_username == "tester"


@records_of(
    "cmsportal.identity.services.apikey_issue",
    "cmsportal.identity.services.apikey_revoke",
    "cmsportal.identity.services.apikey_rename",
    "cmsportal.identity.services.apikey_delete",
)
def test_apikey_services():
    user = UserFactory(username="bob")
    start = last_id()
    with change_context(actor=ACTOR):
        key, _ = identity.apikey_issue(user, "billing sync")
        identity.apikey_rename(key=key, name="billing")
        identity.apikey_revoke(key)
        identity.apikey_delete(key=key)
    issued, renamed, revoked, deleted = new_records(start)
    assert [shape(c) for c in (issued, renamed, revoked, deleted)] == [
        ("api_key", f"bob {key.pk}", a) for a in ("issue", "update", "revoke", "delete")
    ]
    assert set(issued.after) == {"user", "name", "created", "revoked"} and issued.after["name"] == "billing sync"
    assert (renamed.before, renamed.after) == ({"name": "billing sync"}, {"name": "billing"})
    assert deleted.before["name"] == "billing" and deleted.before["revoked"]
    assert {c.actor_username for c in (issued, renamed, revoked, deleted)} == {"tester"}


@records_of(
    "cmsportal.identity.services.user_save",
    "cmsportal.identity.services.user_grant",
    "cmsportal.identity.services.user_password_set",
    "cmsportal.identity.services.user_delete",
)
def test_user_services():
    from django.contrib.auth import get_user_model

    group = Group.objects.create(name="ops")
    permission = Permission.objects.get(codename="view_all_accounts")
    start = last_id()
    with change_context(actor=ACTOR):
        user = identity.user_save(user=get_user_model()(username="cy", email="cy@example.com"))
        user.first_name = "Cy"
        identity.user_save(user=user)
        identity.user_grant(user=user, groups=[group], permissions=[permission])
        identity.user_password_set(user=user, password="a long secret phrase")  # noqa: S106
        identity.user_delete(user=user)
    created, renamed, granted, password, deleted = new_records(start)
    assert [shape(c) for c in (created, renamed, granted, password, deleted)] == [
        ("user", "cy", a) for a in ("create", "update", "update", "update", "delete")
    ]
    assert created.after["email"] == "cy@example.com" and "password" not in created.after  # no usable password
    assert (renamed.before, renamed.after) == ({"firstName": ""}, {"firstName": "Cy"})
    assert granted.after == {"groups": ["ops"], "permissions": ["identity.view_all_accounts"]}
    assert (password.before, password.after) == ({"password": None}, {"password": "changed"})
    assert deleted.before["groups"] == ["ops"]


@records_of(
    "cmsportal.identity.services.group_save",
    "cmsportal.identity.services.group_ensure",
    "cmsportal.identity.services.group_delete",
)
def test_group_services():
    start = last_id()
    with change_context(actor=ACTOR):
        group = identity.group_save(group=Group(name="ops"))
        group.name = "operations"
        identity.group_save(group=group, permissions=[Permission.objects.get(codename="view_all_accounts")])
        identity.group_ensure(name="operations")  # there already: nothing
        identity.group_ensure(name="billing")
        identity.group_delete(group=group)
    records = new_records(start)
    assert [shape(c) for c in records] == [
        ("group", "ops", "create"),
        ("group", "operations", "update"),
        ("group", "billing", "create"),
        ("group", "operations", "delete"),
    ]
    assert records[1].before == {"name": "ops", "permissions": []}
    assert records[1].after == {"name": "operations", "permissions": ["identity.view_all_accounts"]}


@records_of(
    "cmsportal.identity.services.tenant_grant_save",
    "cmsportal.identity.services.tenant_grant_ensure",
    "cmsportal.identity.services.tenant_grant_delete",
)
def test_tenant_grant_services():
    user = UserFactory(username="dee")
    start = last_id()
    with change_context(actor=ACTOR):
        grant = identity.tenant_grant_save(grant=TenantGrant(user=user, tenant_id="t1"))
        grant.tenant_id = "t2"
        identity.tenant_grant_save(grant=grant)
        identity.tenant_grant_ensure(user=user, tenant_id="t2")  # there already: nothing
        ensured = identity.tenant_grant_ensure(user=user, tenant_id="t3")
        identity.tenant_grant_delete(grant=ensured)
    records = new_records(start)
    assert [shape(c) for c in records] == [
        ("tenant_grant", "dee t1", "create"),
        ("tenant_grant", "dee t2", "update"),
        ("tenant_grant", "dee t3", "create"),
        ("tenant_grant", "dee t3", "delete"),
    ]
    assert records[0].after == {"user": "dee", "tenantId": "t1"}
    assert (records[1].before, records[1].after) == ({"tenantId": "t1"}, {"tenantId": "t2"})


# --- no secret in any record --------------------------------------------------------------------------------


def test_no_record_holds_a_secret():
    user = UserFactory(username="eve")
    password = "correct horse battery staple 2"  # noqa: S105
    secrets = [password]
    with change_context(actor=ACTOR):
        token, plain = identity.token_issue(user, ["PASSWORD"])
        secrets += [plain, identity.digest(plain)]
        key, plain = identity.apikey_issue(user, "sync")
        secrets += [plain, identity.digest(plain), plain[: ApiKey.PREFIX_LENGTH]]
        identity.apikey_revoke(key)
        identity.token_revoke(token)
        identity.user_password_set(user=user, password=password)
        identity.user_save(user=user)
        identity.apikey_delete(key=key)
    user.refresh_from_db()
    secrets.append(user.password)  # the password hash
    assert Change.objects.filter(object_key__startswith="eve").count() >= 6
    for change in Change.objects.all():
        text = repr((change.object_key, change.before, change.after))
        for secret in secrets:
            assert secret not in text, (change, secret)


# --- atomicity ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error", [ValidationError("refused half way"), IntegrityError("conflict half way"), Exception("crash half way")]
)
def test_a_failure_half_way_leaves_neither_change_nor_record(error):
    customer = CustomerFactory()
    account = AccountFactory(customer=customer, account_id="900050")
    start = last_id()
    # The contact row and its create record are written, then adding its roles fails.
    with mock.patch.object(contacts.services, "_set_roles", side_effect=error), pytest.raises(type(error)):
        contacts.services.contact_create(
            actor=ACTOR, contact_number="RPN-900-000-050", customer=customer, accounts={account: ["BILLING"]}
        )
    assert not Contact.objects.filter(contact_number="RPN-900-000-050").exists()
    assert new_records(start) == []


def test_a_metadata_failure_after_the_write_leaves_neither():
    account = AccountFactory(account_id="900051")
    MetadataFactory(account=account, key="billing:plan", value="gold")
    start = last_id()
    with (
        mock.patch.object(metadata.services, "_log_entry", side_effect=ValidationError("no")),
        pytest.raises(ValidationError),
    ):
        metadata.services.metadata_set(account=account, key="billing:plan", value="tin", actor=ACTOR)
    assert Metadata.objects.get(account=account, key="billing:plan").value == "gold"
    assert new_records(start) == []


def test_an_identity_failure_after_the_write_leaves_neither():
    user = UserFactory(username="fay")
    start = last_id()
    with mock.patch.object(identity, "_record", side_effect=ValidationError("no")), pytest.raises(ValidationError):
        identity.apikey_issue(user, "sync")
    assert not ApiKey.objects.filter(user=user).exists() and not Token.objects.filter(user=user).exists()
    assert new_records(start) == []
