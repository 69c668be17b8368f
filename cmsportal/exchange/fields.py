"""The field tables of the record kinds: for each kind (and each object nested in one), its JSON keys in
the order the export writes them, with the check of each and whether it is required.

A table is a tuple of (json key, check, required). String lengths come from the model fields.
records.decode checks a record against these tables; decoders.py compiles its fast path from the same
tables, so a change here changes both. `*_EXTRA`: the keys a kind has besides its flat fields (nested
objects and lists, decoded on their own).
"""

import re

from accounts.models import (
    AccessPolicy,
    Account,
    AccountChangeType,
    AccountHistory,
    AccountStatus,
    AccountType,
    CollectionsStatus,
    Customer,
    FraudStatus,
    RCNChange,
    RCNChangeType,
    StatusChange,
    UserType,
)
from contacts.models import Address, Contact, EmailAddress, PhoneNumber, Role
from metadata.models import VALUE_MAX_LENGTH, Access, Metadata, Namespace

from .checks import account_id, bigint, boolean, choice, date, field_max_length, metadata_key, pattern, rcn, rpn, text

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
    "PHONE_FIELDS",
    "RCN_FIELDS",
    "ROLE",
    "STATUS_FIELDS",
]

_NAMESPACE = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _fields(model, *specs):
    """[(json key, check, required)] with string lengths taken from the model's fields."""
    out = []
    for key, field, check, required in specs:
        if check is None:
            check = text(field_max_length(model, field))
        out.append((key, check, required))
    return tuple(out)


_ACCOUNT_REF = (
    ("accountType", choice(AccountType), True),
    ("accountId", account_id, True),
)

CUSTOMER_FIELDS = _fields(Customer, ("rcn", "rcn", rcn, True), ("name", "name", None, False))
ACCOUNT_FIELDS = _fields(
    Account,
    ("type", "type", choice(AccountType), True),
    ("id", "account_id", account_id, True),
    ("number", "number", bigint, False),
    ("rcn", "customer", rcn, True),
    ("name", "name", None, False),
    ("nickname", "nickname", None, False),
    ("status", "status", choice(AccountStatus), False),
    ("tenantId", "tenant_id", None, False),
    ("domain", "domain", None, False),
    ("serviceLevel", "service_level", None, False),
    ("collectionsStatus", "collections_status", choice(CollectionsStatus), False),
    ("accessPolicy", "access_policy", choice(AccessPolicy), False),
    ("parentAccountNumber", "parent_account_number", bigint, False),
    ("createdBy", "created_by", None, False),
    ("createdDate", "created_date", date, False),
    ("lastUpdatedBy", "last_updated_by", None, False),
    ("lastUpdatedDate", "last_updated_date", date, False),
)
CONTACT_FIELDS = _fields(
    Contact,
    ("contactNumber", "contact_number", rpn, True),
    ("rcn", "customer", rcn, False),
    ("firstName", "first_name", None, False),
    ("lastName", "last_name", None, False),
    ("title", "title", None, False),
    ("suffix", "suffix", None, False),
    ("username", "username", None, False),
)
CONTACT_TAIL_FIELDS = _fields(
    Contact,
    ("lastUpdatedBy", "last_updated_by", None, False),
    ("lastUpdatedDate", "last_updated_date", date, False),
)
CONTACT_EXTRA = frozenset(
    {"addresses", "emailAddresses", "phoneNumbers", "notificationPreferences", "accounts"}
    | {f[0] for f in CONTACT_TAIL_FIELDS}
)
NOTIFICATION_FIELDS = tuple(
    (key, boolean, True) for key in ("doNotFax", "doNotCall", "doNotEmail", "doNotMail", "doNotSurvey")
)
ADDRESS_FIELDS = _fields(
    Address,
    ("street", "street", None, False),
    ("city", "city", None, False),
    ("state", "state", None, False),
    ("zipcode", "zipcode", None, False),
    ("country", "country", None, False),
    ("primary", "primary", boolean, True),
)
EMAIL_FIELDS = _fields(EmailAddress, ("address", "address", None, True), ("primary", "primary", boolean, True))
PHONE_FIELDS = _fields(
    PhoneNumber,
    ("number", "number", None, True),
    ("country", "country", None, False),
    ("mask", "mask", None, False),
    ("smsVerify", "sms_verify", boolean, True),
    ("primary", "primary", boolean, True),
)
LINK_FIELDS = (("type", choice(AccountType), True), ("id", account_id, True))
METADATA_FIELDS = _ACCOUNT_REF + _fields(
    Metadata,
    ("key", "key", metadata_key, True),
    ("value", "value", text(VALUE_MAX_LENGTH), True),
    ("createdBy", "created_by", None, False),
    ("createdDate", "created_date", date, False),
    ("lastUpdatedBy", "last_updated_by", None, False),
    ("lastUpdatedDate", "last_updated_date", date, False),
)
STATUS_FIELDS = _ACCOUNT_REF + _fields(
    StatusChange,
    ("date", "date", date, True),
    ("status", "status", None, False),
    ("username", "username", None, False),
    ("usertype", "usertype", choice(UserType), False),
    ("collectionsStatus", "collections_status", choice(CollectionsStatus), False),
    ("accessPolicy", "access_policy", choice(AccessPolicy), False),
    ("fraudStatus", "fraud_status", choice(FraudStatus), False),
)
HISTORY_FIELDS = _ACCOUNT_REF + _fields(
    AccountHistory,
    ("accountChangeType", "change_type", choice(AccountChangeType), True),
    ("rcn", "rcn", rcn, False),
    ("updatedDate", "updated_date", date, False),
    ("accountStatus", "account_status", None, False),
    ("collectionsStatus", "collections_status", None, False),
    ("nickname", "nickname", None, False),
)
HISTORY_EXTRA = frozenset({"updatedBy", "destinationUpdatedBy"})
ACTOR_FIELDS = (
    ("username", text(field_max_length(AccountHistory, "updated_by_username")), False),
    ("type", choice(UserType), False),
)
RCN_FIELDS = _ACCOUNT_REF + _fields(
    RCNChange,
    ("accountChangeType", "change_type", choice(RCNChangeType), True),
    ("username", "username", None, False),
    ("rcn", "rcn", rcn, False),
    ("date", "date", date, False),
)
NAMESPACE_FIELDS = (
    ("name", pattern(_NAMESPACE, "a namespace name (letters, digits, '_', '.', '-')"), True),
    ("access", choice(Access), True),
)
NAMESPACE_MAX_LENGTH = field_max_length(Namespace, "name")
GROUP_NAME = text(150, empty=False)  # a namespace's reader or writer group
# A contact's role on an account (the items of `roles`).
ROLE = choice(Role)
