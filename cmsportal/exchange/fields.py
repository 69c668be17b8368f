"""The field tables of the record kinds: for each kind (and each object nested in one), its JSON keys in
the order the export writes them, with the check of each and whether it is required.

A table is a tuple of (json key, check, required). Each key's check (its length, choices, pattern)
and whether it is required come from the resource's declaration (accounts/contacts/metadata representations.py);
the RCN, RPN, account id and metadata key checks are named where a key uses them.
records.decode checks a record against these tables; decoders.py compiles its fast path from the same
tables, so a change here changes both. `*_EXTRA`: the keys a kind has besides its flat fields (nested
objects and lists, decoded on their own).
"""

import re

from accounts import representations as accounts
from cmsportal import resources as r
from contacts import representations as contacts
from metadata import representations as metadata

from . import checks
from .checks import bigint, boolean, choice, date, pattern, text

__all__ = [
    "ACCOUNT_FIELDS",
    "ACTOR_FIELDS",
    "ADDRESS_FIELDS",
    "CONTACT_EXTRA",
    "CONTACT_FIELDS",
    "CONTACT_TAIL_FIELDS",
    "CUSTOMER_FIELDS",
    "EMAIL_FIELDS",
    "GROUP_NAME",
    "HISTORY_EXTRA",
    "HISTORY_FIELDS",
    "LINK_FIELDS",
    "METADATA_FIELDS",
    "NAMESPACE_FIELDS",
    "NAMESPACE_MAX_LENGTH",
    "NOTIFICATION_FIELDS",
    "PHONE_SEARCH_KEY",
    "PHONE_FIELDS",
    "RCN_FIELDS",
    "ROLE",
    "STATUS_FIELDS",
    "account_id",
    "check_of",
    "metadata_key",
    "rcn",
    "rpn",
    "scalars",
]


def _pattern(field: r.Field, example: str):
    return pattern(re.compile(field.pattern), example)


# The checks named by the keys that use them, from the declared patterns and lengths.
rcn = _pattern(accounts.CUSTOMER.field("rcn"), "RCN-123-456-789")
rpn = _pattern(contacts.CONTACT.field("contactNumber"), "RPN-123-456-789")
account_id = checks.account_id(accounts.ACCOUNT.field("id").max_length)
_KEY = metadata.METADATA_DETAIL.field("key")
metadata_key = checks.metadata_key(re.compile(_KEY.pattern), _KEY.max_length)

_PLAIN = {r.INT: bigint, r.BOOL: boolean, r.DATE: date}


def check_of(field: r.Field):
    """The import check of a declared field: its type, with its choices or length."""
    if field.type in _PLAIN:
        return _PLAIN[field.type]
    if field.type == r.CHOICE:
        return choice(field.choices)
    if field.type == r.STR and field.pattern is None:
        return text(field.max_length)
    raise ValueError(f"{field.key!r}: name the check of a field with a pattern")


def _fields(resource: r.Resource, *specs):
    """[(json key, check, required)]: a key alone takes its check from the declaration, (key, check) names it."""
    out = []
    for spec in specs:
        key, check = (spec, None) if isinstance(spec, str) else spec
        field = resource.field(key)
        out.append((key, check or check_of(field), field.required))
    return tuple(out)


def scalars(resource: r.Resource) -> list[r.Field]:
    """The declared fields a record carries as plain values (not nested objects, lists or arguments), in order."""
    return [f for f in resource.fields if f.type not in (r.OBJECT, r.LIST) and not f.arg]


def _declared(resource: r.Resource, *first, named=None, before=None, after=None):
    """The table of every plain field of `resource`, in declared order: `first` (keys) lead, in
    the order given; `named` maps keys to the check they use instead of their declared one. `before`
    / `after`: only the fields declared before / after that key. A field added to the declaration
    joins the table (and so the staging row, the import and the export) where it is declared."""
    named = named or {}
    keys = [f.key for f in resource.fields]
    fields = scalars(resource)
    if before is not None:
        fields = [f for f in fields if keys.index(f.key) < keys.index(before)]
    if after is not None:
        fields = [f for f in fields if keys.index(f.key) > keys.index(after)]
    order = [*first, *(f.key for f in fields if f.key not in first)]
    return _fields(resource, *((key, named[key]) if key in named else key for key in order))


_ACCOUNT_REF = (
    ("accountType", check_of(accounts.ACCOUNT.field("type")), True),
    ("accountId", account_id, True),
)

CUSTOMER_FIELDS = _declared(accounts.CUSTOMER, named={"rcn": rcn})
ACCOUNT_FIELDS = _declared(accounts.ACCOUNT, "type", "id", named={"id": account_id, "rcn": rcn})
# A contact's plain fields before its nested ones (notification preferences are staged between the
# two parts), then those after.
CONTACT_FIELDS = _declared(contacts.CONTACT, named={"contactNumber": rpn, "rcn": rcn}, before="notificationPreferences")
CONTACT_TAIL_FIELDS = _declared(contacts.CONTACT, after="notificationPreferences")
CONTACT_EXTRA = frozenset(
    {"addresses", "emailAddresses", "phoneNumbers", "notificationPreferences", "accounts"}
    | {f[0] for f in CONTACT_TAIL_FIELDS}
)
NOTIFICATION_FIELDS = _declared(contacts.NOTIFICATION_PREFERENCES)
ADDRESS_FIELDS = _declared(contacts.ADDRESS)
EMAIL_FIELDS = _declared(contacts.EMAIL_ADDRESS)
PHONE_FIELDS = _declared(contacts.PHONE_NUMBER)
LINK_FIELDS = (("type", _ACCOUNT_REF[0][1], True), ("id", account_id, True))
METADATA_FIELDS = _ACCOUNT_REF + _declared(metadata.METADATA_DETAIL, named={"key": metadata_key})
STATUS_FIELDS = _ACCOUNT_REF + _declared(accounts.STATUS_CHANGE)
HISTORY_FIELDS = _ACCOUNT_REF + _declared(accounts.ACCOUNT_HISTORY, named={"rcn": rcn})
HISTORY_EXTRA = frozenset({"updatedBy", "destinationUpdatedBy"})
ACTOR_FIELDS = _declared(accounts.ACTOR)
RCN_FIELDS = _ACCOUNT_REF + _declared(accounts.RCN_CHANGE, named={"rcn": rcn})
# A phone number's search key, computed as the declaration says from its number and country.
PHONE_SEARCH_KEY, _keys = contacts.PHONE_NUMBER.derived["normalized"]
assert _keys == tuple(key for key, _, _ in PHONE_FIELDS[:2]), "the search key takes the first two phone fields"
_NAME = metadata.NAMESPACE.field("name")
NAMESPACE_FIELDS = (
    ("name", pattern(re.compile(_NAME.pattern), "a namespace name (letters, digits, '_', '.', '-')"), True),
    ("access", check_of(metadata.NAMESPACE.field("access")), True),
)
NAMESPACE_MAX_LENGTH = _NAME.max_length
# A namespace's reader or writer group.
GROUP_NAME = text(metadata.NAMESPACE.field("readers").max_length, empty=False)
# A contact's role on an account (the items of `roles`).
ROLE = choice(contacts.CONTACT.field("roles").choices)
