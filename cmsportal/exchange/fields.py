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


_ACCOUNT_REF = (
    ("accountType", check_of(accounts.ACCOUNT.field("type")), True),
    ("accountId", account_id, True),
)

CUSTOMER_FIELDS = _fields(accounts.CUSTOMER, ("rcn", rcn), "name")
ACCOUNT_FIELDS = _fields(
    accounts.ACCOUNT,
    "type",
    ("id", account_id),
    "number",
    ("rcn", rcn),
    *("name", "nickname", "status", "tenantId", "domain", "serviceLevel", "collectionsStatus", "accessPolicy"),
    *("parentAccountNumber", "createdBy", "createdDate", "lastUpdatedBy", "lastUpdatedDate"),
)
CONTACT_FIELDS = _fields(
    contacts.CONTACT,
    ("contactNumber", rpn),
    ("rcn", rcn),
    *("firstName", "lastName", "title", "suffix", "username"),
)
CONTACT_TAIL_FIELDS = _fields(contacts.CONTACT, "lastUpdatedBy", "lastUpdatedDate")
CONTACT_EXTRA = frozenset(
    {"addresses", "emailAddresses", "phoneNumbers", "notificationPreferences", "accounts"}
    | {f[0] for f in CONTACT_TAIL_FIELDS}
)
NOTIFICATION_FIELDS = _fields(
    contacts.NOTIFICATION_PREFERENCES, *(f.key for f in contacts.NOTIFICATION_PREFERENCES.fields)
)
ADDRESS_FIELDS = _fields(contacts.ADDRESS, "street", "city", "state", "zipcode", "country", "primary")
EMAIL_FIELDS = _fields(contacts.EMAIL_ADDRESS, "address", "primary")
PHONE_FIELDS = _fields(contacts.PHONE_NUMBER, "number", "country", "mask", "smsVerify", "primary")
LINK_FIELDS = (("type", _ACCOUNT_REF[0][1], True), ("id", account_id, True))
METADATA_FIELDS = _ACCOUNT_REF + _fields(
    metadata.METADATA_DETAIL,
    ("key", metadata_key),
    *("value", "createdBy", "createdDate", "lastUpdatedBy", "lastUpdatedDate"),
)
STATUS_FIELDS = _ACCOUNT_REF + _fields(
    accounts.STATUS_CHANGE,
    *("date", "status", "username", "usertype", "collectionsStatus", "accessPolicy", "fraudStatus"),
)
HISTORY_FIELDS = _ACCOUNT_REF + _fields(
    accounts.ACCOUNT_HISTORY,
    *("accountChangeType", ("rcn", rcn), "updatedDate", "accountStatus", "collectionsStatus", "nickname"),
)
HISTORY_EXTRA = frozenset({"updatedBy", "destinationUpdatedBy"})
ACTOR_FIELDS = _fields(accounts.ACTOR, "username", "type")
RCN_FIELDS = _ACCOUNT_REF + _fields(accounts.RCN_CHANGE, "accountChangeType", "username", ("rcn", rcn), "date")
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
