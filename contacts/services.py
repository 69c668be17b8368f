"""Every write to contacts: create, update, their addresses/emails/phones, and roles per account."""

from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Account, Customer
from cmsportal import dates
from cmsportal.changes.choices import Action, ObjectType
from cmsportal.changes.services import change_record, change_record_update
from cmsportal.identity.access import Actor
from cmsportal.resources import snapshot

from .choices import Role
from .models import AccountContact, AccountContactRole, Address, Contact, EmailAddress, PhoneNumber

__all__ = [
    "CONTACT_FIELDS",
    "ADDRESS_FIELDS",
    "EMAIL_FIELDS",
    "PHONE_FIELDS",
    "contact_create",
    "contact_update",
    "same_customer_error",
    "contact_set_roles",
    "contact_remove_from_account",
    "contact_delete",
]

CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "suffix",
    "username",
    "do_not_fax",
    "do_not_call",
    "do_not_email",
    "do_not_mail",
    "do_not_survey",
)
ADDRESS_FIELDS = ("street", "city", "state", "zipcode", "country", "primary")
EMAIL_FIELDS = ("address", "primary")
PHONE_FIELDS = ("number", "country", "mask", "sms_verify", "primary")

__all__ = [
    "ADDRESS_FIELDS",
    "CONTACT_FIELDS",
    "EMAIL_FIELDS",
    "PHONE_FIELDS",
    "contact_create",
    "contact_delete",
    "contact_remove_from_account",
    "contact_set_roles",
    "contact_update",
    "same_customer_error",
]


def _log_contact(contact: Contact, action: str, actor: Actor, before: dict | None = None, after: dict | None = None):
    fields = {
        "object_type": ObjectType.CONTACT,
        "object_key": contact.contact_number,
        "rcn": contact.customer.rcn if contact.customer_id else None,
        "actor": actor,
    }
    if action == Action.UPDATE:
        return change_record_update(before=before, after=after, **fields)
    return change_record(action=action, before=before, after=after, **fields)


def _log_roles(
    *, contact_number: str, rcn: str | None, account_key: str, before, after, actor: Actor | None, when=None
):
    """The change record of a contact's roles on one account changing from `before` to `after` (role lists);
    nothing when they are the same. Role added when any role was added, else role removed."""
    before, after = sorted(before), sorted(after)
    if before == after:
        return None
    action = Action.ROLE_ADD if set(after) - set(before) else Action.ROLE_REMOVE
    return change_record(
        object_type=ObjectType.CONTACT,
        object_key=contact_number,
        action=action,
        before={"roles": before},
        after={"roles": after},
        rcn=rcn,
        account_key=account_key,
        actor=actor,
        when=when,
    )


def _clean_roles(roles: Iterable[str]) -> list[str]:
    cleaned = []
    for role in roles:
        upper = str(role).upper()
        if upper not in Role.values:
            raise ValidationError({"roles": f"{role!r} is not one of {', '.join(Role.values)}."})
        if upper not in cleaned:
            cleaned.append(upper)
    return cleaned


def _replace_children(contact: Contact, model, fields, rows: Iterable[Mapping]) -> None:
    model.objects.filter(contact=contact).delete()
    objects = []
    for row in rows:
        unknown = set(row) - set(fields)
        if unknown:
            raise ValidationError(f"Unknown {model._meta.verbose_name} fields: {', '.join(sorted(unknown))}.")
        obj = model(contact=contact, **row)
        obj.full_clean(exclude=["contact"])
        objects.append(obj)
    model.objects.bulk_create(objects)


def _touch(contact: Contact, actor: Actor) -> None:
    contact.last_updated_by = actor.username
    contact.last_updated_date = dates.now()


@transaction.atomic
def contact_create(
    *,
    actor: Actor,
    contact_number: str,
    customer: Customer,
    addresses: Iterable[Mapping] = (),
    email_addresses: Iterable[Mapping] = (),
    phone_numbers: Iterable[Mapping] = (),
    accounts: Mapping[Account, Iterable[str]] | None = None,
    **fields,
) -> Contact:
    """Create a contact of `customer`, with its details and its roles on accounts ({account: [roles]})."""
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown contact fields: {', '.join(sorted(unknown))}.")
    contact = Contact(contact_number=contact_number, customer=customer, **fields)
    _touch(contact, actor)
    contact.full_clean()
    try:
        with transaction.atomic():  # full_clean's uniqueness check cannot see a concurrent creation
            contact.save()
    except IntegrityError:
        raise ValidationError({"contact_number": f"A contact {contact_number} already exists."}) from None
    _replace_children(contact, Address, ADDRESS_FIELDS, addresses)
    _replace_children(contact, EmailAddress, EMAIL_FIELDS, email_addresses)
    _replace_children(contact, PhoneNumber, PHONE_FIELDS, phone_numbers)
    _log_contact(contact, Action.CREATE, actor, after=snapshot(contact))
    for account, roles in (accounts or {}).items():
        _set_roles(contact, account, roles, actor)
    return contact


@transaction.atomic
def contact_update(
    *,
    contact: Contact,
    actor: Actor,
    addresses: Iterable[Mapping] | None = None,
    email_addresses: Iterable[Mapping] | None = None,
    phone_numbers: Iterable[Mapping] | None = None,
    **fields,
) -> Contact:
    """Change a contact's fields; a given list of addresses, emails or phones replaces the old one."""
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown contact fields: {', '.join(sorted(unknown))}.")
    contact = Contact.objects.select_for_update(of=("self",)).select_related("customer").get(pk=contact.pk)
    before = snapshot(contact)
    for field, value in fields.items():
        setattr(contact, field, value)
    _touch(contact, actor)
    contact.full_clean()
    contact.save()
    if addresses is not None:
        _replace_children(contact, Address, ADDRESS_FIELDS, addresses)
    if email_addresses is not None:
        _replace_children(contact, EmailAddress, EMAIL_FIELDS, email_addresses)
    if phone_numbers is not None:
        _replace_children(contact, PhoneNumber, PHONE_FIELDS, phone_numbers)
    _log_contact(contact, Action.UPDATE, actor, before=before, after=snapshot(contact))
    return contact


def same_customer_error(contact: Contact, account: Account) -> str | None:
    """Why `contact` may not hold roles on `account`, or None when it may (the rule: a contact belongs to
    one customer, and its roles are only on that customer's accounts)."""
    if contact.customer_id is None:
        return f"{contact.contact_number} belongs to no customer: it cannot hold roles on {account.key}."
    if contact.customer_id != account.customer_id:
        return (
            f"{account.key} belongs to {account.customer.rcn}, and {contact.contact_number} is a contact of "
            f"{contact.customer.rcn}: a contact holds roles only on its own customer's accounts."
        )
    return None


def _check_same_customer(contact: Contact, account: Account) -> None:
    # The account's and the contact's customers as they stand now: the account row is locked, so a
    # concurrent move (which takes the same lock) cannot slip in between this check and the write.
    account = Account.objects.select_for_update(of=("self",)).select_related("customer").get(pk=account.pk)
    contact = Contact.objects.select_related("customer").get(pk=contact.pk)
    error = same_customer_error(contact, account)
    if error:
        raise ValidationError({"account": error})


def _set_roles(contact: Contact, account: Account, roles: Iterable[str], actor: Actor) -> AccountContact:
    roles = _clean_roles(roles)
    _check_same_customer(contact, account)
    link, _ = AccountContact.objects.get_or_create(account=account, contact=contact)
    # Lock the link: concurrent role changes of one contact on one account read and write its roles in turn.
    link = AccountContact.objects.select_for_update(of=("self",)).select_related("account__customer").get(pk=link.pk)
    held = list(link.roles.values_list("role", flat=True))
    link.roles.exclude(role__in=roles).delete()
    existing = set(link.roles.values_list("role", flat=True))
    AccountContactRole.objects.bulk_create(
        [AccountContactRole(link=link, role=role) for role in roles if role not in existing]
    )
    _log_roles(
        contact_number=contact.contact_number,
        rcn=link.account.customer.rcn,
        account_key=link.account.key,
        before=held,
        after=roles,
        actor=actor,
    )
    return link


@transaction.atomic
def contact_set_roles(*, contact: Contact, account: Account, roles: Iterable[str], actor: Actor) -> AccountContact:
    """Put a contact on an account (if not there yet) with exactly these roles."""
    link = _set_roles(contact, account, roles, actor)
    _touch(contact, actor)
    contact.save(update_fields=["last_updated_by", "last_updated_date"])
    return link


@transaction.atomic
def contact_remove_from_account(*, contact: Contact, account: Account, actor: Actor) -> None:
    """Take a contact off an account, with all its roles there."""
    link = AccountContact.objects.filter(contact=contact, account=account).select_related("account__customer").first()
    if link is None:
        raise ValidationError(f"{contact.contact_number} is not on {account.key}.")
    held = list(link.roles.values_list("role", flat=True))
    link.delete()
    _log_roles(
        contact_number=contact.contact_number,
        rcn=link.account.customer.rcn,
        account_key=link.account.key,
        before=held,
        after=[],
        actor=actor,
    )
    _touch(contact, actor)
    contact.save(update_fields=["last_updated_by", "last_updated_date"])


@transaction.atomic
def contact_delete(*, contact: Contact, actor: Actor) -> None:
    """Delete a contact: first taken off every account it is on (contact_remove_from_account, with its roles
    there), then deleted with its addresses, emails and phones.

    The contact's row is locked first, so a concurrent role change of it waits and then finds it gone.
    """
    contact = Contact.objects.select_for_update().filter(pk=contact.pk).first()
    if contact is None:
        raise ValidationError("This contact no longer exists.")
    for link in AccountContact.objects.filter(contact=contact).select_related("account").order_by("account_id"):
        contact_remove_from_account(contact=contact, account=link.account, actor=actor)
    _log_contact(contact, Action.DELETE, actor, before=snapshot(contact))
    contact.delete()
