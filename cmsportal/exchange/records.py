"""Records of the exchange format <-> rows, the plain way: the reference both fast paths are held to.

Decoding (`decode`) validates one record (an already parsed JSON value) against its field table
(fields.py) and appends plain tuples to staging buffers (staging.STAGING, one buffer per staging
table, every row starting with the record's line number); decoders.decode is its compiled fast path.
Encoding (`*_record`) turns model rows back into records through the API representations, and
`record_text` writes one as a line of the file; the `*_line` encoders (encoders.py) are their fast path.

What a valid record is: the API representation of the thing (representations.py) plus the linking
fields docs/EXCHANGE.md names. A field the export always writes (booleans, a contact's `accounts`, a
namespace's `readers`/`writers`) is required; a field it leaves out when absent is optional, and
`null` is never a value (leave the field out). Empty lists inside a contact (`addresses`,
`emailAddresses`, `phoneNumbers`) and empty `updatedBy` objects are left out too.
"""

import json

from . import representations as rep
from .checks import Invalid, type_name
from .fields import (
    ACCOUNT_FIELDS,
    ACTOR_FIELDS,
    ADDRESS_FIELDS,
    CONTACT_EXTRA,
    CONTACT_FIELDS,
    CONTACT_TAIL_FIELDS,
    CUSTOMER_FIELDS,
    EMAIL_FIELDS,
    GROUP_NAME,
    HISTORY_EXTRA,
    HISTORY_FIELDS,
    LINK_FIELDS,
    METADATA_FIELDS,
    NAMESPACE_FIELDS,
    NAMESPACE_MAX_LENGTH,
    NOTIFICATION_FIELDS,
    PHONE_FIELDS,
    PHONE_SEARCH_KEY,
    RCN_FIELDS,
    ROLE,
    STATUS_FIELDS,
)
from .staging import KINDS

__all__ = [
    "DECODERS",
    "account_history_record",
    "account_record",
    "contact_record",
    "customer_record",
    "decode",
    "metadata_record",
    "namespace_record",
    "rcn_change_record",
    "record_text",
    "status_change_record",
]

_MISSING = object()


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
        raise Invalid(f"{key!r} must be an object, not {type_name(value)}")
    return value


def _list(value, key) -> list:
    if value.__class__ is not list:
        raise Invalid(f"{key!r} must be a list, not {type_name(value)}")
    return value


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
        buffers["phone"].append((line, pos, number, *phone, PHONE_SEARCH_KEY(phone[0], phone[1])))

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
            ROLE(role, "roles")
            if role in held:
                raise Invalid(f"role {role} is listed twice on account {type_}/{id_}")
            held.add(role)
            pos += 1
            buffers["role"].append((line, pos, number, type_, id_, role))


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
    if len(name) > NAMESPACE_MAX_LENGTH:
        raise Invalid(f"'name' is longer than {NAMESPACE_MAX_LENGTH} characters")
    buffers["namespace"].append((line, name, access))
    pos = 0
    for key, kind in (("readers", "r"), ("writers", "w")):
        groups = body.get(key, _MISSING)
        if groups is _MISSING:
            raise Invalid(f"missing field {key!r} (a list of group names, empty for none)")
        seen = set()
        for group in _list(groups, key):
            GROUP_NAME(group, key)
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
        raise Invalid(f"a record is a JSON object with one key (its kind), not {type_name(record)}")
    if len(record) != 1:
        if not record:
            raise Invalid("empty record: a record is an object with one key, its kind")
        raise Invalid(f"a record has exactly one key, its kind; found {', '.join(map(repr, record))}")
    ((kind, body),) = record.items()
    decoder = DECODERS.get(kind)
    if decoder is None:
        raise Invalid(f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    if body.__class__ is not dict:
        raise Invalid(f"the body of {kind!r} must be an object, not {type_name(body)}")
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


# One record as a line of the file (without the newline): compact JSON, non-ASCII as UTF-8.
record_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
