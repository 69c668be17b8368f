"""Record kinds and staging tables of an import.

`KINDS`: the record kinds of the exchange format (docs/EXCHANGE.md), in the order an export writes
them. `STAGING`: the staging tables an import fills, one per table of rows a record decodes to
(records.decode and decoders.decode append to one buffer per table; the importer copies the buffers
into temporary tables named cms_x_<table>, the parallel reader ships them between processes).

The columns of a record's values come from the declarations (through the field tables of fields.py,
in their order): a declared field's column is the model's column of the attribute it reads (`tenant_id` for
`tenantId`; `rcn` for `customer.rcn`, the customer's; a nested object's fields with its prefix),
and its type the declared type. So a field added to a declaration gets its staging column, and the
importer (which writes every staged column to the column of the same name) writes it.
"""

from accounts import representations as accounts
from cmsportal import resources as r
from contacts import representations as contacts
from metadata import representations as metadata

from . import fields

__all__ = ["KINDS", "STAGING", "STAGED_AS", "column_of", "target_column"]

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
# with `line`, the record's line number, which orders appended rows and names the line in errors;
# the rows of a list inside a record have `pos`, their place in the record, and the key of their record.
_TYPES = {r.STR: "text", r.CHOICE: "text", r.INT: "bigint", r.BOOL: "bool", r.DATE: "date"}
# Column names SQL reserves, staged under another name.
STAGED_AS = {"primary": "is_primary"}
_LINE = [("line", "bigint")]
_POS = [("line", "bigint"), ("pos", "bigint"), ("contact_number", "text")]
_ACCOUNT = [("type", "text"), ("account_id", "text")]  # accountType, accountId: the account named


def target_column(resource: r.Resource, field: r.Field, prefix: str = "") -> str:
    """The column a declared field is read from (and written to): the model's column of its attribute
    (of a path through a relation, the related table's: `rcn` for `customer.rcn`), with the prefix of
    the nested object it is in."""
    return resource.column(prefix + field.attr)


def column_of(resource: r.Resource, field: r.Field, prefix: str = "") -> str:
    """The staging column of a declared field."""
    column = target_column(resource, field, prefix)
    return STAGED_AS.get(column, column)


def _columns(resource: r.Resource, table, prefix: str = "", model: r.Resource | None = None) -> list[tuple[str, str]]:
    """The staging columns of a field table's keys, read from `resource`'s declaration (`model`: the
    declaration whose model holds the columns, for a nested object's fields)."""
    out = []
    for key, _, _ in table:
        field = resource.field(key)
        out.append((column_of(model or resource, field, prefix), _TYPES[field.type]))
    return out


def _actors(resource: r.Resource) -> list[tuple[str, str]]:
    """The columns of `resource`'s nested objects (an entry's `updatedBy`...), in declared order."""
    out = []
    for field in resource.fields:
        if field.type == r.OBJECT:
            out += _columns(field.resource, fields.ACTOR_FIELDS, field.prefix, resource)
    return out


# A phone number's derived search key, staged after its fields.
_SEARCH_KEY = next(iter(contacts.PHONE_NUMBER.derived))

STAGING = {
    "customer": _LINE + _columns(accounts.CUSTOMER, fields.CUSTOMER_FIELDS),
    "namespace": _LINE + _columns(metadata.NAMESPACE, fields.NAMESPACE_FIELDS),
    # kind: "r" reader, "w" writer
    "ns_group": [
        ("line", "bigint"),
        ("pos", "bigint"),
        ("namespace", "text"),
        ("kind", "text"),
        ("group_name", "text"),
    ],
    "account": _LINE + _columns(accounts.ACCOUNT, fields.ACCOUNT_FIELDS),
    "contact": _LINE
    + _columns(contacts.CONTACT, fields.CONTACT_FIELDS)
    + _columns(contacts.NOTIFICATION_PREFERENCES, fields.NOTIFICATION_FIELDS, model=contacts.CONTACT)
    + _columns(contacts.CONTACT, fields.CONTACT_TAIL_FIELDS),
    "address": _POS + _columns(contacts.ADDRESS, fields.ADDRESS_FIELDS),
    "email": _POS + _columns(contacts.EMAIL_ADDRESS, fields.EMAIL_FIELDS),
    "phone": _POS + _columns(contacts.PHONE_NUMBER, fields.PHONE_FIELDS) + [(_SEARCH_KEY, "text")],
    "link": _POS + _ACCOUNT,
    "role": _POS + _ACCOUNT + [("role", "text")],
    "metadata": _LINE + _ACCOUNT + _columns(metadata.METADATA_DETAIL, fields.METADATA_FIELDS[2:]),
    "status": _LINE + _ACCOUNT + _columns(accounts.STATUS_CHANGE, fields.STATUS_FIELDS[2:]),
    "history": _LINE
    + _ACCOUNT
    + _columns(accounts.ACCOUNT_HISTORY, fields.HISTORY_FIELDS[2:])
    + _actors(accounts.ACCOUNT_HISTORY),
    "rcn": _LINE + _ACCOUNT + _columns(accounts.RCN_CHANGE, fields.RCN_FIELDS[2:]),
}
