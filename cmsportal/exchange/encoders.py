"""The line encoders of the export: row tuples -> the bytes of a record's line (orjson).

The fast path of records.py's `*_record` builders and `record_text`: `*_line` writes a whole record,
`*_object` one object nested in a contact. The exporter reads rows with plain SQL (its SELECTs list
`row_leaves` of the same declarations) and hands them here.

Every encoder comes from a resource's declaration (`cmsportal.resources`), as a `Line`:

- `Line.declared` is the obvious reading of the declaration, field by field: the reference;
- `Line.compiled` is the same thing as Python source generated once, what a careful hand would
  write: the row unpacked into names, one `if value is not None` per optional key, constants
  inlined. It is the one the export calls (`Line.__call__`).

tests/exchange/test_encoders.py holds the two equal on generated rows (Hypothesis), and
tests/exchange/test_lines.py holds them to records.py's `*_record` + `record_text`.

A row holds the values of the declaration's plain fields in declared order, the fields of a
nested object (an entry's `updatedBy`, a contact's `notificationPreferences`) in its place
(`row_leaves`). Lists (a contact's addresses, a namespace's readers) come as arguments after the
row, in declared order; for the records of an account, `accountType` and `accountId` come as
arguments before it. Absent (None) values are left out, as the representation leaves them out;
dates arrive as their final text (`cmsportal.dates.format_date`'s form: the exporter formats them,
on PostgreSQL in its SQL). orjson writes what `record_text` writes for the values rows hold
(strings, 64-bit integers, booleans, lists and objects of them): compact separators, non-ASCII as
UTF-8, the same escapes.

The bytes orjson returns keep the capacity of its working buffer (kilobytes for a line of a few
hundred bytes): callers copy them into a larger buffer and drop them, rather than keep thousands.
The compiled form pays: a loop over a table of names (zip over names and values) builds a body
about 2.3x slower, some 4-5 s of a 1,000,000-account export.
"""

import orjson

from accounts import representations as accounts
from cmsportal import resources as r
from contacts import representations as contacts
from metadata import representations as metadata

__all__ = [
    "Line",
    "row_leaves",
    "CUSTOMER",
    "NAMESPACE",
    "ACCOUNT",
    "ADDRESS",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CONTACT",
    "METADATA",
    "STATUS_CHANGE",
    "ACCOUNT_HISTORY",
    "RCN_CHANGE",
    "account_history_line",
    "account_line",
    "address_object",
    "contact_account_object",
    "contact_line",
    "customer_line",
    "email_address_object",
    "metadata_line",
    "namespace_line",
    "phone_number_object",
    "rcn_change_line",
    "status_change_line",
]

_dumps = orjson.dumps
_LINE = orjson.OPT_APPEND_NEWLINE


def _scalar(field: r.Field) -> bool:
    return field.type not in (r.OBJECT, r.LIST) and not field.arg


def row_leaves(resource: r.Resource, prefix: str = "") -> list[tuple[r.Field, str]]:
    """(field, attribute path) of each value of a row of `resource`, in order: its plain fields,
    nested objects' fields in their place (with their prefix)."""
    out = []
    for field in resource.fields:
        if field.type == r.OBJECT:
            out += row_leaves(field.resource, prefix + field.prefix)
        elif _scalar(field):
            out.append((field, prefix + field.attr))
    return out


class Line:
    """The encoder of one record kind (or, without `kind`, of one nested object, returned as a dict).

    lead:  keys given as arguments before the row (`accountType`, `accountId`), written first.
    omit:  declared keys the exchange does not write (a contact's `roles`: it writes `accounts`).
    tail:  keys given as arguments after the lists, written last (a contact's `accounts`).
    The lists (declared list fields, less `omit`) are arguments between the row and `tail`.
    """

    def __init__(self, resource: r.Resource, kind: str | None = None, *, lead=(), omit=(), tail=()):
        self.resource = resource
        self.kind = kind
        self.lead = tuple(lead)
        self.omit = frozenset(omit)
        self.tail = tuple(tail)
        self.fields = tuple(f for f in resource.fields if f.key not in self.omit)
        self.lists = tuple(f for f in self.fields if f.type == r.LIST)
        self.width = len(row_leaves(resource))
        self.compiled = self._compile()

    def __call__(self, *args):
        return self.compiled(*args)

    # -- the reference: the declaration read field by field ----------------------------------------

    def declared(self, *args):
        lead, rest = args[: len(self.lead)], args[len(self.lead) :]
        row, rest = rest[0], rest[1:]
        lists, tail = rest[: len(self.lists)], rest[len(self.lists) :]
        if len(row) != self.width or len(tail) != len(self.tail):
            raise TypeError(f"{self.resource.name}: a row of {self.width} values and {len(self.tail)} tail values")
        body = dict(zip(self.lead, lead, strict=True))
        values = iter(row)
        given = dict(zip((f.key for f in self.lists), lists, strict=True))
        body.update(self._body(self.fields, values, given))
        body.update(zip(self.tail, tail, strict=True))
        if self.kind is None:
            return body
        return _dumps({self.kind: body}, option=_LINE)

    @staticmethod
    def _body(fields, values, given) -> dict:
        body = {}
        for field in fields:
            if field.type == r.OBJECT:
                value = Line._body(field.resource.fields, values, {}) or None
                if value is None and field.required:
                    value = {}
            elif field.type == r.LIST:
                value = given[field.key]
                if field.arg:
                    value = None if value is None else list(value)
                elif not value:
                    value = None
                if value is not None and field.wrap:
                    value = {field.wrap: value}
            else:
                value = next(values)
            if value is not None or field.required:
                body[field.key] = value
        return body

    # -- the fast path: the same, as generated source --------------------------------------------------

    def _compile(self):
        names = {"_dumps": _dumps, "_LINE": _LINE}
        row_names = [f"v{i}" for i in range(self.width)]
        list_names = [f"l{i}" for i in range(len(self.lists))]
        tail_names = [f"t{i}" for i in range(len(self.tail))]
        lead_names = [f"k{i}" for i in range(len(self.lead))]
        lines = []
        if row_names:
            lines.append(f"{', '.join(row_names)}{',' if len(row_names) == 1 else ''} = row")
        values = iter(row_names)
        lists = dict(zip((f.key for f in self.lists), list_names, strict=True))
        # Always-present keys at the front make the dict literal.
        body = self._emit(
            self.fields, values, lists, "body", "    ", lines, leading=list(zip(self.lead, lead_names, strict=True))
        )
        for key, name in zip(self.tail, tail_names, strict=True):
            lines.append(f"    {body}[{key!r}] = {name}")
        if self.kind is None:
            lines.append(f"    return {body}")
        else:
            lines.append(f"    return _dumps({{{self.kind!r}: {body}}}, option=_LINE)")
        params = [*lead_names, "row", *list_names, *tail_names]
        name = f"{self.resource.name}_{'line' if self.kind else 'object'}"
        code = f"def {name}({', '.join(params)}):\n" + "\n".join(
            line if line.startswith("    ") else "    " + line for line in lines
        )
        code += "\n"
        namespace = dict(names)
        exec(compile(code, f"<{self.resource.name} line encoder>", "exec"), namespace)  # noqa: S102 - from a declaration
        function = namespace[name]
        function.__source__ = code
        return function

    def _emit(self, fields, values, lists, var, indent, lines, leading=()) -> str:
        """Statements building dict `var` from `fields`; returns `var`."""
        pairs = [f"{key!r}: {value}" for key, value in leading]
        fields = list(fields)
        # The leading always-present plain fields join the literal.
        while fields and _scalar(fields[0]) and fields[0].required:
            pairs.append(f"{fields.pop(0).key!r}: {next(values)}")
        lines.append(f"{indent}{var} = {{{', '.join(pairs)}}}")
        depth = 0
        for field in fields:
            key = repr(field.key)
            if field.type == r.OBJECT:
                depth += 1
                inner = f"{var}_{depth}"
                self._emit(field.resource.fields, values, {}, inner, indent, lines)
                if field.required:
                    lines.append(f"{indent}{var}[{key}] = {inner}")
                else:
                    lines.append(f"{indent}if {inner}:\n{indent}    {var}[{key}] = {inner}")
            elif field.type == r.LIST:
                name = lists[field.key]
                value = f"{{{field.wrap!r}: {name}}}" if field.wrap else name
                if field.arg:
                    value = f"{{{field.wrap!r}: list({name})}}" if field.wrap else f"list({name})"
                    if field.required:
                        lines.append(f"{indent}{var}[{key}] = {value}")
                    else:
                        lines.append(f"{indent}if {name} is not None:\n{indent}    {var}[{key}] = {value}")
                else:
                    lines.append(f"{indent}if {name}:\n{indent}    {var}[{key}] = {value}")
            else:
                name = next(values)
                if field.required:
                    lines.append(f"{indent}{var}[{key}] = {name}")
                else:
                    lines.append(f"{indent}if {name} is not None:\n{indent}    {var}[{key}] = {name}")
        return var


_ON_ACCOUNT = ("accountType", "accountId")

CUSTOMER = Line(accounts.CUSTOMER, "customer")
NAMESPACE = Line(metadata.NAMESPACE, "namespace")
ACCOUNT = Line(accounts.ACCOUNT, "customerAccount")
ADDRESS = Line(contacts.ADDRESS)
EMAIL_ADDRESS = Line(contacts.EMAIL_ADDRESS)
PHONE_NUMBER = Line(contacts.PHONE_NUMBER)
CONTACT = Line(contacts.CONTACT, "contact", omit=("roles",), tail=("accounts",))
METADATA = Line(metadata.METADATA_DETAIL, "metadata", lead=_ON_ACCOUNT)
STATUS_CHANGE = Line(accounts.STATUS_CHANGE, "statusChange", lead=_ON_ACCOUNT)
ACCOUNT_HISTORY = Line(accounts.ACCOUNT_HISTORY, "customerAccountHistory", lead=_ON_ACCOUNT)
RCN_CHANGE = Line(accounts.RCN_CHANGE, "accountRCNChange", lead=_ON_ACCOUNT)

# customer_line(row); namespace_line(row, readers, writers); account_line(row);
# contact_line(row, addresses, email_addresses, phone_numbers, accounts);
# metadata_line / status_change_line / account_history_line / rcn_change_line(account_type, account_id, row);
# address_object / email_address_object / phone_number_object(row) -> dict.
customer_line = CUSTOMER.compiled
namespace_line = NAMESPACE.compiled
account_line = ACCOUNT.compiled
address_object = ADDRESS.compiled
email_address_object = EMAIL_ADDRESS.compiled
phone_number_object = PHONE_NUMBER.compiled
contact_line = CONTACT.compiled
metadata_line = METADATA.compiled
status_change_line = STATUS_CHANGE.compiled
account_history_line = ACCOUNT_HISTORY.compiled
rcn_change_line = RCN_CHANGE.compiled


def contact_account_object(account_type: str, account_id: str, roles: list) -> dict:
    """One entry of a contact's `accounts`: the account and the contact's roles on it, in order."""
    return {"type": account_type, "id": account_id, "roles": roles}
