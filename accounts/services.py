"""Every write to customers and accounts that matters.

Each service runs in one transaction and writes the history rows the API shows in that same
transaction, so a change and its history stand or fall together. Views, the API, the admin and the
management commands call these and hold no business rules of their own.
"""

from dataclasses import dataclass
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from cmsportal import dates, versions
from cmsportal.changes.choices import Action, ObjectType
from cmsportal.changes.services import change_record, change_record_update
from cmsportal.identity.access import Actor
from cmsportal.resources import snapshot
from cmsportal.versions import Expectation, Version
from contacts.models import AccountContact, AccountContactRole, Contact

from .choices import (
    AccessPolicy,
    AccountChangeType,
    AccountStatus,
    AccountType,
    CollectionsStatus,
    FraudStatus,
    RCNChangeType,
)
from .models import REASON_MAX_LENGTH, Account, AccountHistory, Customer, RCNChange, StatusChange
from .representations import account_to_dict

__all__ = [
    "RemovedRoles",
    "AccountMoved",
    "roles_leaving",
    "UPDATABLE_FIELDS",
    "RISKY_TRANSITIONS",
    "status_change_risks",
    "clean_reason",
    "reason_missing_message",
    "account_version",
    "customer_create",
    "customer_rename",
    "customer_delete",
    "default_tenant_id",
    "default_domain",
    "account_create",
    "account_status_change",
    "account_collections_status_change",
    "account_nickname_change",
    "account_update",
    "account_move",
    "customers_merge",
]


@dataclass(frozen=True)
class RemovedRoles:
    """A contact taken off an account, with the roles it held there, because it is not a contact of
    the account's (new) customer: a contact holds roles only on its own customer's accounts."""

    contact_number: str
    name: str
    rcn: str | None  # the contact's customer
    account: str  # TYPE/ID
    roles: tuple[str, ...]

    def __str__(self):
        who = f"{self.name} ({self.contact_number})" if self.name else self.contact_number
        return f"{who}: {', '.join(self.roles) or 'no roles'}"


class AccountMoved(NamedTuple):
    """What account_move did: the account as it now stands, and the contacts it took off it."""

    account: Account
    removed: list[RemovedRoles]


def _foreign_links(links):
    """The AccountContact rows of `links` (a queryset), loaded, and each as RemovedRoles."""
    links = list(links.select_related("contact__customer", "account").order_by("account", "contact__contact_number"))
    roles = {}
    for link_id, role in (
        AccountContactRole.objects.filter(link__in=[link.pk for link in links])
        .order_by("id")
        .values_list("link_id", "role")
    ):
        roles.setdefault(link_id, []).append(role)
    return links, [
        RemovedRoles(
            contact_number=link.contact.contact_number,
            name=" ".join(part for part in (link.contact.first_name, link.contact.last_name) if part),
            rcn=link.contact.customer.rcn if link.contact.customer else None,
            account=link.account.key,
            roles=tuple(roles.get(link.pk, ())),
        )
        for link in links
    ]


def roles_leaving(account: Account, customer: Customer) -> list[RemovedRoles]:
    """The contacts, with their roles, that moving `account` to `customer` takes off it: every contact
    on it that is not a contact of `customer` (the confirmation step shows them)."""
    links = AccountContact.objects.filter(account=account).exclude(contact__customer=customer)
    return _foreign_links(links)[1]


def _remove_links(links, actor: Actor, when) -> list[RemovedRoles]:
    """Delete these AccountContact rows (and their roles); each contact concerned is marked changed by `actor`."""
    links, removed = _foreign_links(links)
    if links:
        AccountContact.objects.filter(pk__in=[link.pk for link in links]).delete()
        Contact.objects.filter(pk__in={link.contact_id for link in links}).update(
            last_updated_by=actor.username, last_updated_date=when
        )
    for gone in removed:
        change_record(
            object_type=ObjectType.CONTACT,
            object_key=gone.contact_number,
            action=Action.ROLE_REMOVE,
            before={"roles": sorted(gone.roles)},
            after={"roles": []},
            rcn=gone.rcn,
            account_key=gone.account,
            actor=actor,
            when=when,
        )
    return removed


# Fields account_update may change; status, collections status, nickname and owner have services of their own.
UPDATABLE_FIELDS = ("name", "tenant_id", "domain", "service_level", "parent_account_number", "number")


def _check_choice(value, choices, label):
    if value is not None and value not in choices.values:
        raise ValidationError({label: f"{value!r} is not one of {', '.join(choices.values)}."})


def _touch(account: Account, actor: Actor, when) -> None:
    account.last_updated_by = actor.username
    account.last_updated_date = when


def _record_history(account: Account, change_type: str, actor: Actor, when, destination: Actor | None = None):
    """Append a customerAccountHistory row describing the account as it now stands."""
    return AccountHistory.objects.create(
        account=account,
        change_type=change_type,
        rcn=account.customer.rcn,
        updated_date=when,
        account_status=account.status,
        collections_status=account.collections_status,
        nickname=account.nickname,
        updated_by_username=actor.username,
        updated_by_type=actor.type,
        destination_updated_by_username=destination.username if destination else None,
        destination_updated_by_type=destination.type if destination else None,
    )


def _record_status(account: Account, actor: Actor, when, fraud_status: str | None = None, reason: str | None = None):
    """Append a statusChange row with the account's status, collections status and access policy."""
    return StatusChange.objects.create(
        account=account,
        date=when,
        status=account.status,
        username=actor.username,
        usertype=actor.type,
        collections_status=account.collections_status,
        access_policy=account.access_policy,
        fraud_status=fraud_status,
        reason=reason,
    )


# --- risky status transitions ------------------------------------------------------------------------
# The changes staff must give a reason for: the staff pages ask for one (reason_required); the API and the
# import, whose formats have no reason, are not asked. One list, read by status_change_risks and by the staff
# form's help text.
REOPEN, CLOSE, UNSUSPEND, RESTORE_ACCESS = (
    "reopening a Closed account",
    "closing an account",
    "lifting a suspension (Suspended to another status)",
    "restoring Full access after a Suspended access policy",
)
RISKY_TRANSITIONS = (REOPEN, CLOSE, UNSUSPEND, RESTORE_ACCESS)


def status_change_risks(account: Account, status: str | None, access_policy: str | None) -> list[str]:
    """Which of RISKY_TRANSITIONS changing `account` to `status` / `access_policy` (None: unchanged) makes."""
    risks = []
    if status is not None and status != account.status:
        if account.status == AccountStatus.CLOSED:
            risks.append(REOPEN)
        if status == AccountStatus.CLOSED:
            risks.append(CLOSE)
        if account.status == AccountStatus.SUSPENDED:
            risks.append(UNSUSPEND)
    if access_policy == AccessPolicy.FULL and account.access_policy == AccessPolicy.SUSPENDED:
        risks.append(RESTORE_ACCESS)
    return risks


def clean_reason(reason: str | None) -> str | None:
    """A reason as stored: surrounding blanks trimmed, an empty one None; longer than REASON_MAX_LENGTH refused."""
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": f"A reason is at most {REASON_MAX_LENGTH} characters long (this one has {len(reason)})."}
        )
    return reason


def reason_missing_message(risks: list[str]) -> str:
    return f"Give a reason: this change means {' and '.join(risks)}."


def _log_account(account: Account, action: str, actor: Actor | None, when, before: dict | None = None, **kwargs):
    """The change record of a change to `account`: the keys that changed since `before`, or all of it."""
    fields = {"object_type": ObjectType.ACCOUNT, "object_key": account.key, "rcn": account.customer.rcn}
    fields.update(account_key=account.key, actor=actor, when=when, **kwargs)
    if before is None:
        return change_record(action=action, after=snapshot(account), **fields)
    return change_record_update(action=action, before=before, after=snapshot(account), **fields)


def _log_customer(customer: Customer, action: str, before: dict | None = None, after: dict | None = None, **kwargs):
    fields = {"object_type": ObjectType.CUSTOMER, "object_key": customer.rcn, "rcn": customer.rcn}
    if action == Action.UPDATE:
        return change_record_update(before=before, after=after, **fields, **kwargs)
    return change_record(action=action, before=before, after=after, **fields, **kwargs)


def _record_rcn(account: Account, change_type: str, actor: Actor, when):
    """Append an accountRCNChange row naming the account's (new) customer."""
    return RCNChange.objects.create(
        account=account, change_type=change_type, username=actor.username, rcn=account.customer.rcn, date=when
    )


def account_version(account: Account, data: dict | None = None) -> Version:
    """The account's version: the API's validators and the staff forms' hidden version field.

    A digest of its representation (`data`, when the caller has built it already), so any change the API
    shows changes it; needs `account.customer` loaded, and queries nothing.
    """
    data = data if data is not None else account_to_dict(account)
    return Version(versions.digest(data), account.last_updated_date, account.last_updated_by)


def _locked(account: Account, expected_version: str | Expectation | None = None) -> Account:
    """Re-read the account under a row lock so concurrent changes serialise, and check the version expected.

    Only the account's row is locked (not its customer's): a status change never waits for, or deadlocks
    with, a merge of the customer, which locks the customers first and then their accounts.
    """
    locked = Account.objects.select_for_update(of=("self",)).select_related("customer").get(pk=account.pk)
    versions.check(expected_version, account_version(locked))
    return locked


@transaction.atomic
def customer_create(*, rcn: str, name: str | None = None, actor: Actor | None = None) -> Customer:
    customer = Customer(rcn=rcn, name=name)
    customer.full_clean()
    try:
        with transaction.atomic():  # full_clean's uniqueness check cannot see a concurrent creation
            customer.save()
    except IntegrityError:
        raise ValidationError({"rcn": f"A customer {rcn} already exists."}) from None
    _log_customer(customer, Action.CREATE, after=snapshot(customer), actor=actor)
    return customer


@transaction.atomic
def customer_rename(*, customer: Customer, name: str | None, actor: Actor | None = None) -> Customer:
    before = snapshot(customer)
    customer.name = name
    customer.implicit = False
    customer.full_clean()
    customer.save(update_fields=["name", "implicit"])
    _log_customer(customer, Action.UPDATE, before=before, after=snapshot(customer), actor=actor)
    return customer


@transaction.atomic
def customer_delete(*, customer: Customer, actor: Actor | None = None) -> None:
    """Delete a customer that has no accounts and no contacts (merge it into another to move them first)."""
    locked = Customer.objects.select_for_update().filter(pk=customer.pk).first()
    if locked is None:
        raise ValidationError(f"{customer.rcn} no longer exists.")
    if Account.objects.filter(customer=locked).exists() or Contact.objects.filter(customer=locked).exists():
        raise ValidationError(f"{locked.rcn} has accounts or contacts: merge it into another customer instead.")
    _log_customer(locked, Action.DELETE, before=snapshot(locked), actor=actor)
    locked.delete()


def default_tenant_id(account_type: str, account_id: str) -> str:
    """The tenant id the reference gives each type of account: 10101, hybrid:5342823, faws:5342823."""
    prefix = {AccountType.MANAGED_HOSTING: "hybrid:", AccountType.FANATICAL_SUPPORT_FOR_AWS: "faws:"}
    return prefix.get(account_type, "") + account_id


def default_domain(account_type: str, account_id: str) -> str | None:
    if account_type == AccountType.CLOUD:
        return account_id
    if account_type == AccountType.MANAGED_HOSTING:
        return f"dedicated:{account_id}"
    return None


@transaction.atomic
def account_create(
    *,
    actor: Actor,
    customer: Customer,
    type: str,
    account_id: str,
    name: str | None = None,
    nickname: str | None = None,
    status: str = AccountStatus.ACTIVE,
    collections_status: str | None = CollectionsStatus.CURRENT,
    access_policy: str | None = AccessPolicy.FULL,
    fraud_status: str | None = None,
    tenant_id: str | None = None,
    domain: str | None = None,
    service_level: str | None = None,
    parent_account_number: int | None = None,
    number: int | None = None,
) -> Account:
    """Open an account for a customer; writes NEW to the account and RCN trails and a first statusChange."""
    _check_choice(fraud_status, FraudStatus, "fraud_status")
    when = dates.now()
    if number is None and account_id.isascii() and account_id.isdigit() and len(account_id) < 19:
        number = int(account_id)
    account = Account(
        customer=customer,
        type=type,
        account_id=account_id,
        number=number,
        name=name,
        nickname=nickname,
        status=status,
        collections_status=collections_status,
        access_policy=access_policy,
        tenant_id=tenant_id if tenant_id is not None else default_tenant_id(type, account_id),
        domain=domain if domain is not None else default_domain(type, account_id),
        service_level=service_level,
        parent_account_number=parent_account_number,
        created_by=actor.username,
        created_date=when,
    )
    _touch(account, actor, when)
    account.full_clean()
    try:
        with transaction.atomic():  # full_clean's uniqueness check cannot see a concurrent creation
            account.save()
    except IntegrityError:
        raise ValidationError({"account_id": f"An account {type}/{account_id} already exists."}) from None
    _record_history(account, AccountChangeType.NEW, actor, when)
    _record_rcn(account, RCNChangeType.NEW, actor, when)
    _record_status(account, actor, when, fraud_status)
    _log_account(account, Action.CREATE, actor, when)
    return account


@transaction.atomic
def account_status_change(
    *,
    account: Account,
    actor: Actor,
    status: str | None = None,
    access_policy: str | None = None,
    fraud_status: str | None = None,
    expected_version: str | Expectation | None = None,
    reason: str | None = None,
    reason_required: bool = False,
) -> Account:
    """Change status and/or access policy; writes a statusChange and a LEGACY_ACCOUNT_STATUS history row.

    `expected_version` (in every account service): the version the change was decided on, checked under the
    row lock; versions.StaleVersion if the account changed since.

    `reason` is stored on the statusChange (at most REASON_MAX_LENGTH characters; blank is none). With
    `reason_required` (the staff pages), a risky change (status_change_risks, judged on the account as locked)
    without a reason is refused.
    """
    _check_choice(status, AccountStatus, "status")
    _check_choice(access_policy, AccessPolicy, "access_policy")
    _check_choice(fraud_status, FraudStatus, "fraud_status")
    if status is None and access_policy is None:
        raise ValidationError("Give a status or an access policy to change.")
    reason = clean_reason(reason)
    account = _locked(account, expected_version)
    if reason_required and reason is None:
        risks = status_change_risks(account, status, access_policy)
        if risks:
            raise ValidationError({"reason": reason_missing_message(risks)})
    when = dates.now()
    before = snapshot(account)
    if status is not None:
        account.status = status
    if access_policy is not None:
        account.access_policy = access_policy
    _touch(account, actor, when)
    account.save()
    _record_status(account, actor, when, fraud_status, reason)
    _record_history(account, AccountChangeType.LEGACY_ACCOUNT_STATUS, actor, when)
    _log_account(account, Action.UPDATE, actor, when, before)
    return account


@transaction.atomic
def account_collections_status_change(
    *, account: Account, actor: Actor, collections_status: str, expected_version: str | Expectation | None = None
) -> Account:
    """Change the collections status; writes a COLLECTIONS_STATUS history row and a statusChange."""
    if collections_status is None:
        raise ValidationError({"collections_status": "Give a collections status."})
    _check_choice(collections_status, CollectionsStatus, "collections_status")
    account = _locked(account, expected_version)
    when = dates.now()
    before = snapshot(account)
    account.collections_status = collections_status
    _touch(account, actor, when)
    account.save()
    _record_status(account, actor, when)
    _record_history(account, AccountChangeType.COLLECTIONS_STATUS, actor, when)
    _log_account(account, Action.UPDATE, actor, when, before)
    return account


@transaction.atomic
def account_nickname_change(
    *, account: Account, actor: Actor, nickname: str | None, expected_version: str | Expectation | None = None
) -> Account:
    """Change the nickname (empty removes it); writes a NICKNAME history row."""
    account = _locked(account, expected_version)
    when = dates.now()
    before = snapshot(account)
    account.nickname = nickname or None
    _touch(account, actor, when)
    account.full_clean()
    account.save()
    _record_history(account, AccountChangeType.NICKNAME, actor, when)
    _log_account(account, Action.UPDATE, actor, when, before)
    return account


@transaction.atomic
def account_update(
    *, account: Account, actor: Actor, expected_version: str | Expectation | None = None, **fields
) -> Account:
    """Change descriptive fields (name, tenant id, domain, service level, numbers); no trail records these."""
    unknown = set(fields) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValidationError(f"account_update cannot change {', '.join(sorted(unknown))}.")
    account = _locked(account, expected_version)
    before = snapshot(account)
    for field, value in fields.items():
        setattr(account, field, value)
    when = dates.now()
    _touch(account, actor, when)
    account.full_clean()
    account.save()
    _log_account(account, Action.UPDATE, actor, when, before)
    return account


@transaction.atomic
def account_move(
    *,
    account: Account,
    actor: Actor,
    customer: Customer,
    destination_actor: Actor | None = None,
    expected_version: str | Expectation | None = None,
) -> AccountMoved:
    """Move an account to another customer; writes RCN_UPDATE to the account and RCN trails.

    The contacts of the old customer stay with it: they are taken off the account with their roles
    there (a contact holds roles only on its own customer's accounts), and each is marked changed by
    `actor`. Returns the account and those contacts with the roles they lost (roles_leaving shows
    them beforehand).

    `destination_actor` is whoever accepted the account on the receiving side (defaults to `actor`).
    """
    # The receiving customer first, then the account (the order customers_merge takes them in): a merge
    # cannot delete the customer while the account moves to it.
    if not Customer.objects.select_for_update().filter(pk=customer.pk).exists():
        raise ValidationError({"customer": f"{customer.rcn} no longer exists."})
    account = _locked(account, expected_version)
    if account.customer_id == customer.pk:
        raise ValidationError({"customer": f"{account.key} already belongs to {customer.rcn}."})
    when = dates.now()
    before = snapshot(account)
    removed = _remove_links(
        AccountContact.objects.filter(account=account).exclude(contact__customer=customer), actor, when
    )
    account.customer = customer
    _touch(account, actor, when)
    account.save()
    _record_history(account, AccountChangeType.RCN_UPDATE, actor, when, destination=destination_actor or actor)
    _record_rcn(account, RCNChangeType.RCN_UPDATE, actor, when)
    _log_account(account, Action.MOVE, actor, when, before)
    return AccountMoved(account, removed)


@transaction.atomic
def customers_merge(*, source: Customer, target: Customer, actor: Actor) -> Customer:
    """Merge `source` into `target`: its accounts and contacts move, then `source` is deleted.

    Every moved account gets an RCN_UPDATE history row and a MERGE row in its RCN trail.
    """
    if source.pk == target.pk:
        raise ValidationError("A customer cannot be merged into itself.")
    # Lock both customers in a fixed order so two merges cannot deadlock.
    locked = {
        c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    when = dates.now()
    accounts = list(Account.objects.select_for_update().filter(customer=source).order_by("type", "account_id"))
    befores = []
    for account in accounts:
        account.customer = source  # the locked source, so that the snapshot needs no query
        befores.append(snapshot(account))
        account.customer = target
        _touch(account, actor, when)
    Account.objects.bulk_update(accounts, ["customer", "last_updated_by", "last_updated_date"])
    for account, before in zip(accounts, befores, strict=True):
        _record_history(account, AccountChangeType.RCN_UPDATE, actor, when, destination=actor)
        _record_rcn(account, RCNChangeType.MERGE, actor, when)
        _log_account(account, Action.MOVE, actor, when, before)
    moving = list(source.contacts.order_by("contact_number").values_list("pk", "contact_number"))
    contacts = [pk for pk, _ in moving]
    Contact.objects.filter(pk__in=contacts).update(customer=target)
    for _, contact_number in moving:
        change_record(
            object_type=ObjectType.CONTACT,
            object_key=contact_number,
            action=Action.MOVE,
            before={"rcn": source.rcn},
            after={"rcn": target.rcn},
            rcn=target.rcn,
            actor=actor,
            when=when,
        )
    # Accounts and contacts moved together, so the contacts keep their roles. Links that broke the rule
    # before (data imported before it held) are not carried into the target: a contact of neither
    # customer on a moved account, or a moved contact on a third customer's account, is taken off it.
    _remove_links(
        AccountContact.objects.filter(
            Q(account__in=[account.pk for account in accounts]) | Q(contact__in=contacts)
        ).exclude(contact__customer=target, account__customer=target),
        actor,
        when,
    )
    target_before = snapshot(target)
    if target.implicit and source.name and not target.name:
        target.name, target.implicit = source.name, False
        target.save(update_fields=["name", "implicit"])
    _log_customer(
        target,
        Action.MERGE,
        before=target_before,
        after={**snapshot(target), "merged": source.rcn, "accounts": len(accounts), "contacts": len(contacts)},
        actor=actor,
        when=when,
    )
    _log_customer(
        source, Action.DELETE, before=snapshot(source), after={"mergedInto": target.rcn}, actor=actor, when=when
    )
    source.delete()
    return target
