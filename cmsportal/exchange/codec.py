"""Records of the exchange format <-> rows.

Decoding validates one record (an already parsed JSON value) and appends plain tuples to staging
buffers (`STAGING`, one buffer per staging table, every row starting with the record's line
number). Encoding turns model rows back into records through the API representations.

What a valid record is: the API representation of the thing (representations.py) plus the linking
fields docs/EXCHANGE.md names. A field the export always writes (booleans, a contact's `accounts`, a
namespace's `readers`/`writers`) is required; a field it leaves out when absent is optional, and
`null` is never a value (leave the field out). Empty lists inside a contact (`addresses`,
`emailAddresses`, `phoneNumbers`) and empty `updatedBy` objects are left out too. Dates may be any
ISO-8601 date `cmsportal.dates.parse_date` reads; they are kept in UTC to the millisecond, which
is what the export writes.
"""

import json
import re
from datetime import UTC, datetime

import orjson
from django.core.exceptions import ValidationError

from accounts.models import (
    RCN_RE,
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
from cmsportal.dates import parse_date
from contacts import phones
from contacts.models import RPN_RE, Address, Contact, EmailAddress, PhoneNumber, Role
from metadata.models import VALUE_MAX_LENGTH, Access, Metadata, Namespace, validate_key

from . import representations as rep

KINDS = (
    "customer",
    "namespace",
    "customerAccount",
    "contact",
    "metadata",
    "statusChange",
    "customerAccountHistory",
    "accountRCNChange",
)

# Staging tables: name -> [(column, type)]. Types: text, bigint, bool, date. Every table starts
# with `line`, the record's line number, which orders appended rows and names the line in errors.
STAGING = {
    "customer": [("line", "bigint"), ("rcn", "text"), ("name", "text")],
    "namespace": [("line", "bigint"), ("name", "text"), ("access", "text")],
    # kind: "r" reader, "w" writer
    "ns_group": [
        ("line", "bigint"),
        ("pos", "bigint"),
        ("namespace", "text"),
        ("kind", "text"),
        ("group_name", "text"),
    ],
    "account": [
        ("line", "bigint"),
        ("type", "text"),
        ("account_id", "text"),
        ("number", "bigint"),
        ("rcn", "text"),
        ("name", "text"),
        ("nickname", "text"),
        ("status", "text"),
        ("tenant_id", "text"),
        ("domain", "text"),
        ("service_level", "text"),
        ("collections_status", "text"),
        ("access_policy", "text"),
        ("parent_account_number", "bigint"),
        ("created_by", "text"),
        ("created_date", "date"),
        ("last_updated_by", "text"),
        ("last_updated_date", "date"),
    ],
    "contact": [
        ("line", "bigint"),
        ("contact_number", "text"),
        ("rcn", "text"),
        ("first_name", "text"),
        ("last_name", "text"),
        ("title", "text"),
        ("suffix", "text"),
        ("username", "text"),
        ("do_not_fax", "bool"),
        ("do_not_call", "bool"),
        ("do_not_email", "bool"),
        ("do_not_mail", "bool"),
        ("do_not_survey", "bool"),
        ("last_updated_by", "text"),
        ("last_updated_date", "date"),
    ],
    "address": [
        ("line", "bigint"),
        ("pos", "bigint"),
        ("contact_number", "text"),
        ("street", "text"),
        ("city", "text"),
        ("state", "text"),
        ("zipcode", "text"),
        ("country", "text"),
        ("is_primary", "bool"),
    ],
    "email": [
        ("line", "bigint"),
        ("pos", "bigint"),
        ("contact_number", "text"),
        ("address", "text"),
        ("is_primary", "bool"),
    ],
    "phone": [
        ("line", "bigint"),
        ("pos", "bigint"),
        ("contact_number", "text"),
        ("number", "text"),
        ("country", "text"),
        ("mask", "text"),
        ("sms_verify", "bool"),
        ("is_primary", "bool"),
        ("normalized", "text"),  # contacts.phones.search_key(number, country), computed here
    ],
    "link": [
        ("line", "bigint"),
        ("pos", "bigint"),
        ("contact_number", "text"),
        ("type", "text"),
        ("account_id", "text"),
    ],
    "role": [
        ("line", "bigint"),
        ("pos", "bigint"),
        ("contact_number", "text"),
        ("type", "text"),
        ("account_id", "text"),
        ("role", "text"),
    ],
    "metadata": [
        ("line", "bigint"),
        ("type", "text"),
        ("account_id", "text"),
        ("key", "text"),
        ("value", "text"),
        ("created_by", "text"),
        ("created_date", "date"),
        ("last_updated_by", "text"),
        ("last_updated_date", "date"),
    ],
    "status": [
        ("line", "bigint"),
        ("type", "text"),
        ("account_id", "text"),
        ("date", "date"),
        ("status", "text"),
        ("username", "text"),
        ("usertype", "text"),
        ("collections_status", "text"),
        ("access_policy", "text"),
        ("fraud_status", "text"),
    ],
    "history": [
        ("line", "bigint"),
        ("type", "text"),
        ("account_id", "text"),
        ("change_type", "text"),
        ("rcn", "text"),
        ("updated_date", "date"),
        ("account_status", "text"),
        ("collections_status", "text"),
        ("nickname", "text"),
        ("updated_by_username", "text"),
        ("updated_by_type", "text"),
        ("destination_updated_by_username", "text"),
        ("destination_updated_by_type", "text"),
    ],
    "rcn": [
        ("line", "bigint"),
        ("type", "text"),
        ("account_id", "text"),
        ("change_type", "text"),
        ("username", "text"),
        ("rcn", "text"),
        ("date", "date"),
    ],
}


class Invalid(ValueError):
    """A field that is not what the format says; becomes an ExchangeError with the line number."""


_MISSING = object()
_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1
_RCN = re.compile(RCN_RE)
_RPN = re.compile(RPN_RE)
_NAMESPACE = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _type_name(value) -> str:
    if value is None:
        return "null (leave absent values out)"
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _max_length(model, field: str) -> int | None:
    return model._meta.get_field(field).max_length


def text(max_length: int | None = None, *, empty: bool = True):
    """A string: no NUL (PostgreSQL text cannot hold it), no lone surrogates (not UTF-8), at most `max_length`."""

    def check(value, key):
        if value.__class__ is not str:
            raise Invalid(f"{key!r} must be a string, not {_type_name(value)}")
        if max_length is not None and len(value) > max_length:
            raise Invalid(f"{key!r} is longer than {max_length} characters")
        if "\x00" in value:
            raise Invalid(f"{key!r} contains a NUL character")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise Invalid(f"{key!r} is not valid Unicode (lone surrogate)") from None
        if not empty and not value:
            raise Invalid(f"{key!r} must not be empty")
        return value

    check.spec = ("text", max_length, empty)
    return check


def pattern(regex: re.Pattern, example: str):
    def check(value, key):
        if value.__class__ is not str:
            raise Invalid(f"{key!r} must be a string like {example}, not {_type_name(value)}")
        if not regex.match(value) or value.endswith("\n"):
            raise Invalid(f"{key!r} must look like {example}, not {value!r}")
        return value

    check.spec = ("pattern", regex)
    return check


def choice(choices):
    values = frozenset(choices.values)
    listed = ", ".join(choices.values)

    def check(value, key):
        if value.__class__ is not str or value not in values:
            shown = repr(value) if value.__class__ is str else _type_name(value)
            raise Invalid(f"{key!r} must be one of {listed}, not {shown}")
        return value

    check.spec = ("choice", values)
    return check


def bigint(value, key):
    if value.__class__ is not int:
        raise Invalid(f"{key!r} must be an integer, not {_type_name(value)}")
    if not _BIGINT_MIN <= value <= _BIGINT_MAX:
        raise Invalid(f"{key!r} is out of range")
    return value


def boolean(value, key):
    if value is not True and value is not False:
        raise Invalid(f"{key!r} must be true or false, not {_type_name(value)}")
    return value


# The form the export writes (UTC, milliseconds): a date in it is kept as this text, which PostgreSQL
# reads as the same instant; ASCII digits only, so that both parsers agree on every character.
CANONICAL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\Z")


def date(value, key):
    """An ISO-8601 date -> aware UTC datetime truncated to milliseconds, or the text itself when it is
    a valid date in the canonical form (CANONICAL_DATE), which already is one."""
    if value.__class__ is not str:
        raise Invalid(f"{key!r} must be a date string like 2015-04-21T18:00:00.000Z, not {_type_name(value)}")
    try:
        if CANONICAL_DATE.match(value):
            datetime.fromisoformat(value)  # a real date and time
            return value
        # The canonical form (what the export writes) takes the fast C parser.
        if len(value) == 24 and value[10] == "T" and value[23] == "Z":
            parsed = datetime.fromisoformat(value)
        else:
            parsed = parse_date(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        elif parsed.utcoffset():
            parsed = parsed.astimezone(UTC)
        else:
            parsed = parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise Invalid(f"{key!r} must be a date like 2015-04-21T18:00:00.000Z, not {value!r}") from None
    if parsed.microsecond % 1000:
        parsed = parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)
    return parsed


date.spec = ("date",)
bigint.spec = ("bigint",)
boolean.spec = ("boolean",)
_any_text = text(None)


def metadata_key(value, key):
    _any_text(value, key)
    try:
        validate_key(value)
    except ValidationError as exc:
        raise Invalid(f"{key!r} {value!r}: {exc.messages[0]}") from None
    return value


metadata_key.spec = ("metadata_key",)


_account_id_text = text(_max_length(Account, "account_id"), empty=False)


def account_id(value, key):
    _account_id_text(value, key)
    if "/" in value or any(ch < " " or ch == "\x7f" for ch in value):
        raise Invalid(f"{key!r} must not contain '/' or control characters")
    return value


account_id.spec = ("account_id", _account_id_text.spec[1])


rcn = pattern(_RCN, "RCN-123-456-789")
rpn = pattern(_RPN, "RPN-123-456-789")


def _fields(model, *specs):
    """[(json key, check, required)] with string lengths taken from the model's fields."""
    out = []
    for key, field, check, required in specs:
        if check is None:
            check = text(_max_length(model, field))
        out.append((key, check, required))
    return tuple(out)


def _flat(body, fields, extra: frozenset = frozenset()) -> list:
    """Check `body`'s flat fields in order; unknown keys (other than `extra`) are errors."""
    row = []
    seen = 0
    for key, check, required in fields:
        value = body.get(key, _MISSING)
        if value is _MISSING:
            if required:
                raise Invalid(f"missing field {key!r}")
            row.append(None)
        else:
            seen += 1
            row.append(check(value, key))
    if seen != len(body):
        known = {f[0] for f in fields} | extra
        unknown = [k for k in body if k not in known]
        if unknown:
            raise Invalid(f"unknown field {unknown[0]!r}")
    return row


def _json_object(value, key) -> dict:
    if value.__class__ is not dict:
        raise Invalid(f"{key!r} must be an object, not {_type_name(value)}")
    return value


def _list(value, key) -> list:
    if value.__class__ is not list:
        raise Invalid(f"{key!r} must be a list, not {_type_name(value)}")
    return value


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
    ("username", text(_max_length(AccountHistory, "updated_by_username")), False),
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
_namespace_length = _max_length(Namespace, "name")
_group_name = text(150, empty=False)


def _wrapped(body, key, inner):
    """`{"addresses": {"address": [...]}}` -> the list; absent -> empty; present but empty is an error."""
    value = body.get(key, _MISSING)
    if value is _MISSING:
        return ()
    _json_object(value, key)
    if len(value) != 1 or inner not in value:
        raise Invalid(f"{key!r} must be an object with exactly one key, {inner!r}")
    items = _list(value[inner], f"{key}.{inner}")
    if not items:
        raise Invalid(f"{key!r} lists nothing: leave it out when there are none")
    return items


# -- decoders: (line, body, buffers) -> None; buffers maps staging table -> list of rows ----------


def _customer(line, body, buffers):
    buffers["customer"].append((line, *_flat(body, CUSTOMER_FIELDS)))


def _account(line, body, buffers):
    buffers["account"].append((line, *_flat(body, ACCOUNT_FIELDS)))


def _contact(line, body, buffers):
    head = _flat(body, CONTACT_FIELDS, CONTACT_EXTRA)
    number = head[0]
    prefs = body.get("notificationPreferences", _MISSING)
    if prefs is _MISSING:
        raise Invalid("missing field 'notificationPreferences'")
    flags = _flat(_json_object(prefs, "notificationPreferences"), NOTIFICATION_FIELDS)
    tail = []
    for key, check, _ in CONTACT_TAIL_FIELDS:
        value = body.get(key, _MISSING)
        tail.append(None if value is _MISSING else check(value, key))
    buffers["contact"].append((line, *head, *flags, *tail))

    pos = 0
    for item in _wrapped(body, "addresses", "address"):
        pos += 1
        buffers["address"].append((line, pos, number, *_flat(_json_object(item, "address"), ADDRESS_FIELDS)))
    for item in _wrapped(body, "emailAddresses", "emailAddress"):
        pos += 1
        buffers["email"].append((line, pos, number, *_flat(_json_object(item, "emailAddress"), EMAIL_FIELDS)))
    for item in _wrapped(body, "phoneNumbers", "phoneNumber"):
        pos += 1
        phone = _flat(_json_object(item, "phoneNumber"), PHONE_FIELDS)
        buffers["phone"].append((line, pos, number, *phone, phones.search_key(phone[0], phone[1])))

    accounts = body.get("accounts", _MISSING)
    if accounts is _MISSING:
        raise Invalid("missing field 'accounts' (a list, empty when the contact is on no account)")
    seen = set()
    for item in _list(accounts, "accounts"):
        _json_object(item, "accounts[]")
        type_, id_ = _flat(item, LINK_FIELDS, frozenset({"roles"}))
        if (type_, id_) in seen:
            raise Invalid(f"account {type_}/{id_} is listed twice")
        seen.add((type_, id_))
        roles = item.get("roles", _MISSING)
        if roles is _MISSING:
            raise Invalid(f"missing field 'roles' on account {type_}/{id_}")
        pos += 1
        buffers["link"].append((line, pos, number, type_, id_))
        held = set()
        for role in _list(roles, "roles"):
            _role(role, "roles")
            if role in held:
                raise Invalid(f"role {role} is listed twice on account {type_}/{id_}")
            held.add(role)
            pos += 1
            buffers["role"].append((line, pos, number, type_, id_, role))


_role = choice(Role)


def _metadata(line, body, buffers):
    buffers["metadata"].append((line, *_flat(body, METADATA_FIELDS)))


def _status(line, body, buffers):
    buffers["status"].append((line, *_flat(body, STATUS_FIELDS)))


def _actor_of(body, key):
    value = body.get(key, _MISSING)
    if value is _MISSING:
        return None, None
    try:
        actor = _flat(_json_object(value, key), ACTOR_FIELDS)
    except Invalid as exc:
        raise Invalid(f"{key}: {exc}") from None
    if not value:
        raise Invalid(f"{key!r} is empty: leave it out")
    return actor


def _history(line, body, buffers):
    row = _flat(body, HISTORY_FIELDS, HISTORY_EXTRA)
    buffers["history"].append((line, *row, *_actor_of(body, "updatedBy"), *_actor_of(body, "destinationUpdatedBy")))


def _rcn_change(line, body, buffers):
    buffers["rcn"].append((line, *_flat(body, RCN_FIELDS)))


def _namespace(line, body, buffers):
    name, access = _flat(body, NAMESPACE_FIELDS, frozenset({"readers", "writers"}))
    if len(name) > _namespace_length:
        raise Invalid(f"'name' is longer than {_namespace_length} characters")
    buffers["namespace"].append((line, name, access))
    pos = 0
    for key, kind in (("readers", "r"), ("writers", "w")):
        groups = body.get(key, _MISSING)
        if groups is _MISSING:
            raise Invalid(f"missing field {key!r} (a list of group names, empty for none)")
        seen = set()
        for group in _list(groups, key):
            _group_name(group, key)
            if group in seen:
                raise Invalid(f"group {group!r} is listed twice in {key!r}")
            seen.add(group)
            pos += 1
            buffers["ns_group"].append((line, pos, name, kind, group))


DECODERS = {
    "customer": _customer,
    "namespace": _namespace,
    "customerAccount": _account,
    "contact": _contact,
    "metadata": _metadata,
    "statusChange": _status,
    "customerAccountHistory": _history,
    "accountRCNChange": _rcn_change,
}


def decode(line: int, record, buffers) -> str:
    """Validate one record and append its staging rows to `buffers`; returns its kind.

    Raises Invalid (without the line number: the caller adds it).
    """
    if record.__class__ is not dict:
        raise Invalid(f"a record is a JSON object with one key (its kind), not {_type_name(record)}")
    if len(record) != 1:
        if not record:
            raise Invalid("empty record: a record is an object with one key, its kind")
        raise Invalid(f"a record has exactly one key, its kind; found {', '.join(map(repr, record))}")
    ((kind, body),) = record.items()
    decoder = DECODERS.get(kind)
    if decoder is None:
        raise Invalid(f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    if body.__class__ is not dict:
        raise Invalid(f"the body of {kind!r} must be an object, not {_type_name(body)}")
    try:
        decoder(line, body, buffers)
    except Invalid as exc:
        raise Invalid(f"{kind}: {exc}") from None
    return kind


# -- encoders: rows -> records ---------------------------------------------------------------------


def customer_record(customer) -> dict:
    return {"customer": rep.customer_to_dict(customer)}


def namespace_record(namespace, readers, writers) -> dict:
    return {"namespace": rep.namespace_to_dict(namespace, readers, writers)}


def account_record(account) -> dict:
    return {"customerAccount": rep.account_to_dict(account)}


def contact_record(contact, links) -> dict:
    """`links`: the contact's AccountContact rows in order, with `account` and `roles` loaded."""
    body = rep.contact_to_dict(contact)
    body["accounts"] = [
        {"type": link.account.type, "id": link.account.account_id, "roles": [r.role for r in link.roles.all()]}
        for link in links
    ]
    return {"contact": body}


def _on_account(account) -> dict:
    return {"accountType": account.type, "accountId": account.account_id}


def metadata_record(account, metadata) -> dict:
    return {"metadata": {**_on_account(account), **rep.metadata_detail_to_dict(metadata)}}


def status_change_record(account, status_change) -> dict:
    return {"statusChange": {**_on_account(account), **rep.status_change_to_dict(status_change)}}


def account_history_record(account, history) -> dict:
    return {"customerAccountHistory": {**_on_account(account), **rep.account_history_to_dict(history)}}


def rcn_change_record(account, rcn_change) -> dict:
    return {"accountRCNChange": {**_on_account(account), **rep.rcn_change_to_dict(rcn_change)}}


# -- lines: row tuples -> the bytes of a record's line ---------------------------------------------
#
# The export writes each record's line straight from a row tuple: the representation functions
# above want objects with attributes, and building those, then running the records through the
# JSON module's encoder, cost several times everything else the export does. Each `*_line` function
# returns exactly the UTF-8 bytes of `record_text` of the record the matching `*_record` function
# builds from the same row, and a newline (tests/exchange/test_lines.py holds them to it): the same
# keys in the same order, absent (None) values left out. orjson writes what `record_text` writes for
# the values rows hold (strings, 64-bit integers, booleans, lists and objects of them): compact
# separators, non-ASCII as UTF-8, the same escapes. Dates arrive as their final text (the form of
# `cmsportal.dates.format_date`): the exporter formats them, on PostgreSQL in its SQL.
#
# Each row holds exactly the record's values, in the order of its keys (for the records of an
# account, those after `accountType` and `accountId`, which come as arguments). The bytes orjson returns
# keep the capacity of its working buffer (kilobytes for a line of a few hundred bytes): callers
# copy them into a larger buffer and drop them, rather than keep thousands. The optional keys are
# spelled out, one `if` each, rather than looped over a table of names: the loop (zip over names and
# values) builds a body 2.3x slower, about 4-5 s of a 1,000,000-account export.

record_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode

_dumps = orjson.dumps
_LINE = orjson.OPT_APPEND_NEWLINE


def customer_line(row) -> bytes:
    """Row: rcn, name."""
    rcn, name = row
    body = {"rcn": rcn}
    if name is not None:
        body["name"] = name
    return _dumps({"customer": body}, option=_LINE)


def namespace_line(row, readers: list, writers: list) -> bytes:
    """Row: name, access; `readers` and `writers`: group names, in order."""
    name, access = row
    return _dumps({"namespace": {"name": name, "access": access, "readers": readers, "writers": writers}}, option=_LINE)


def account_line(row) -> bytes:
    """Row: id, type, number, rcn (the customer's), name ... lastUpdatedDate, in account_to_dict's order."""
    (
        id_,
        type_,
        number,
        rcn,
        name,
        nickname,
        status,
        tenant_id,
        domain,
        service_level,
        collections_status,
        access_policy,
        parent_account_number,
        created_by,
        created_date,
        last_updated_by,
        last_updated_date,
    ) = row
    body = {"id": id_, "type": type_}
    if number is not None:
        body["number"] = number
    body["rcn"] = rcn
    if name is not None:
        body["name"] = name
    if nickname is not None:
        body["nickname"] = nickname
    if status is not None:
        body["status"] = status
    if tenant_id is not None:
        body["tenantId"] = tenant_id
    if domain is not None:
        body["domain"] = domain
    if service_level is not None:
        body["serviceLevel"] = service_level
    if collections_status is not None:
        body["collectionsStatus"] = collections_status
    if access_policy is not None:
        body["accessPolicy"] = access_policy
    if parent_account_number is not None:
        body["parentAccountNumber"] = parent_account_number
    if created_by is not None:
        body["createdBy"] = created_by
    if created_date is not None:
        body["createdDate"] = created_date
    if last_updated_by is not None:
        body["lastUpdatedBy"] = last_updated_by
    if last_updated_date is not None:
        body["lastUpdatedDate"] = last_updated_date
    return _dumps({"customerAccount": body}, option=_LINE)


def address_object(row) -> dict:
    """Row: street, city, state, zipcode, country, primary."""
    street, city, state, zipcode, country, primary = row
    body = {}
    if street is not None:
        body["street"] = street
    if city is not None:
        body["city"] = city
    if state is not None:
        body["state"] = state
    if zipcode is not None:
        body["zipcode"] = zipcode
    if country is not None:
        body["country"] = country
    body["primary"] = primary
    return body


def email_address_object(row) -> dict:
    """Row: address, primary."""
    address, primary = row
    return {"address": address, "primary": primary}


def phone_number_object(row) -> dict:
    """Row: number, country, mask, smsVerify, primary."""
    number, country, mask, sms_verify, primary = row
    body = {"number": number}
    if country is not None:
        body["country"] = country
    if mask is not None:
        body["mask"] = mask
    body["smsVerify"] = sms_verify
    body["primary"] = primary
    return body


def contact_account_object(account_type: str, account_id: str, roles: list) -> dict:
    """One entry of a contact's `accounts`: the account and the contact's roles on it, in order."""
    return {"type": account_type, "id": account_id, "roles": roles}


def contact_line(row, addresses: list, email_addresses: list, phone_numbers: list, accounts: list) -> bytes:
    """Row: contactNumber, rcn (the customer's), firstName, lastName, title, suffix, username, the five
    notification preferences (doNotFax, doNotCall, doNotEmail, doNotMail, doNotSurvey), lastUpdatedBy,
    lastUpdatedDate. The lists hold the contact's addresses, email addresses, phone numbers (`*_object`)
    and accounts (`contact_account_object`), in order."""
    (
        contact_number,
        rcn,
        first_name,
        last_name,
        title,
        suffix,
        username,
        do_not_fax,
        do_not_call,
        do_not_email,
        do_not_mail,
        do_not_survey,
        last_updated_by,
        last_updated_date,
    ) = row
    body = {"contactNumber": contact_number}
    if rcn is not None:
        body["rcn"] = rcn
    if first_name is not None:
        body["firstName"] = first_name
    if last_name is not None:
        body["lastName"] = last_name
    if title is not None:
        body["title"] = title
    if suffix is not None:
        body["suffix"] = suffix
    if username is not None:
        body["username"] = username
    if addresses:
        body["addresses"] = {"address": addresses}
    if email_addresses:
        body["emailAddresses"] = {"emailAddress": email_addresses}
    if phone_numbers:
        body["phoneNumbers"] = {"phoneNumber": phone_numbers}
    body["notificationPreferences"] = {
        "doNotFax": do_not_fax,
        "doNotCall": do_not_call,
        "doNotEmail": do_not_email,
        "doNotMail": do_not_mail,
        "doNotSurvey": do_not_survey,
    }
    if last_updated_by is not None:
        body["lastUpdatedBy"] = last_updated_by
    if last_updated_date is not None:
        body["lastUpdatedDate"] = last_updated_date
    body["accounts"] = accounts
    return _dumps({"contact": body}, option=_LINE)


def metadata_line(account_type: str, account_id: str, row) -> bytes:
    """Row: key, value, createdBy, createdDate, lastUpdatedBy, lastUpdatedDate."""
    key, value, created_by, created_date, last_updated_by, last_updated_date = row
    body = {"accountType": account_type, "accountId": account_id, "key": key, "value": value}
    if created_by is not None:
        body["createdBy"] = created_by
    if created_date is not None:
        body["createdDate"] = created_date
    if last_updated_by is not None:
        body["lastUpdatedBy"] = last_updated_by
    if last_updated_date is not None:
        body["lastUpdatedDate"] = last_updated_date
    return _dumps({"metadata": body}, option=_LINE)


def status_change_line(account_type: str, account_id: str, row) -> bytes:
    """Row: date, status, username, usertype, collectionsStatus, accessPolicy, fraudStatus."""
    date, status, username, usertype, collections_status, access_policy, fraud_status = row
    body = {"accountType": account_type, "accountId": account_id, "date": date}
    if status is not None:
        body["status"] = status
    if username is not None:
        body["username"] = username
    if usertype is not None:
        body["usertype"] = usertype
    if collections_status is not None:
        body["collectionsStatus"] = collections_status
    if access_policy is not None:
        body["accessPolicy"] = access_policy
    if fraud_status is not None:
        body["fraudStatus"] = fraud_status
    return _dumps({"statusChange": body}, option=_LINE)


def _actor_object(username, type_) -> dict:
    body = {}
    if username is not None:
        body["username"] = username
    if type_ is not None:
        body["type"] = type_
    return body


def account_history_line(account_type: str, account_id: str, row) -> bytes:
    """Row: accountChangeType, rcn, updatedDate, accountStatus, collectionsStatus, nickname, then the
    username and type of `updatedBy` and of `destinationUpdatedBy`."""
    (
        change_type,
        rcn,
        updated_date,
        account_status,
        collections_status,
        nickname,
        updated_by_username,
        updated_by_type,
        destination_username,
        destination_type,
    ) = row
    body = {"accountType": account_type, "accountId": account_id, "accountChangeType": change_type}
    if rcn is not None:
        body["rcn"] = rcn
    if updated_date is not None:
        body["updatedDate"] = updated_date
    if account_status is not None:
        body["accountStatus"] = account_status
    if collections_status is not None:
        body["collectionsStatus"] = collections_status
    if nickname is not None:
        body["nickname"] = nickname
    if updated_by_username is not None or updated_by_type is not None:
        body["updatedBy"] = _actor_object(updated_by_username, updated_by_type)
    if destination_username is not None or destination_type is not None:
        body["destinationUpdatedBy"] = _actor_object(destination_username, destination_type)
    return _dumps({"customerAccountHistory": body}, option=_LINE)


def rcn_change_line(account_type: str, account_id: str, row) -> bytes:
    """Row: accountChangeType, username, rcn, date."""
    change_type, username, rcn, date = row
    body = {"accountType": account_type, "accountId": account_id, "accountChangeType": change_type}
    if username is not None:
        body["username"] = username
    if rcn is not None:
        body["rcn"] = rcn
    if date is not None:
        body["date"] = date
    return _dumps({"accountRCNChange": body}, option=_LINE)
