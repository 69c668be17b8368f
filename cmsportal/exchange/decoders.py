"""The fast path of `records.decode`: per-kind decoders compiled from the field tables (fields.py).

`records.decode` checks each field through a chain of small functions, which is most of an import's
Python time. The decoders here do the same checks as straight-line code generated once, at import
time, from the same field tables (`fields.*_FIELDS` and the `spec` of each check, checks.py), and append the
same rows. They only ever accept: anything they are not sure of (a missing or null field, a wrong
type, an unknown key, a date not in the canonical form, a non-ASCII identifier...) makes them give
up, before appending anything, and `decode` hands the record to `records.decode`, which appends the
rows or raises the exact error. So a record gives the same rows, or the same error, either way
(tests/exchange/test_decoders.py compares the two on generated records).
"""

from datetime import datetime

from . import records
from .checks import BIGINT_MAX, BIGINT_MIN, CANONICAL_DATE
from .fields import (
    ACCOUNT_FIELDS,
    ACTOR_FIELDS,
    ADDRESS_FIELDS,
    CONTACT_FIELDS,
    CONTACT_TAIL_FIELDS,
    CUSTOMER_FIELDS,
    EMAIL_FIELDS,
    HISTORY_FIELDS,
    LINK_FIELDS,
    METADATA_FIELDS,
    NOTIFICATION_FIELDS,
    PHONE_FIELDS,
    PHONE_SEARCH_KEY,
    RCN_FIELDS,
    ROLE,
    STATUS_FIELDS,
)
from .staging import KINDS, STAGING

__all__ = ["decode"]


class _Doubt(Exception):
    """Not certainly valid: records.decode decides."""


def _unicode(value: str) -> bool:
    """Whether a non-ASCII string is valid Unicode (no lone surrogates), as checks.text requires."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Source:
    """Python source of the decoders, and the constants it names."""

    def __init__(self):
        self.names = {
            "_Doubt": _Doubt,
            "_unicode": _unicode,
            "_iso": datetime.fromisoformat,
            "_canonical": CANONICAL_DATE.match,
        }
        self.lines: list[str] = []

    def constant(self, value) -> str:
        name = f"_c{len(self.names)}"
        self.names[name] = value
        return name

    def emit(self, indent: int, *lines: str) -> None:
        self.lines.extend("    " * indent + line for line in lines)

    def check(self, indent: int, var: str, check) -> None:
        """Lines that raise _Doubt unless `var` (not None) certainly passes `check`."""
        kind, *args = check.spec
        if kind == "text":
            max_length, empty = args
            tests = [f"{var}.__class__ is not str"]
            if max_length is not None:
                tests.append(f"len({var}) > {max_length}")
            if not empty:
                tests.append(f"not {var}")
            tests += [f"'\\x00' in {var}", f"not ({var}.isascii() or _unicode({var}))"]
        elif kind == "account_id":
            (max_length,) = args
            # ASCII printable: no control character, no DEL; anything else is records.decode's to judge.
            tests = [
                f"{var}.__class__ is not str",
                f"not {var}",
                f"len({var}) > {max_length}",
                f"'/' in {var}",
                f"not {var}.isascii()",
                f"not {var}.isprintable()",
            ]
        elif kind == "pattern":
            (regex,) = args
            match = self.constant(regex.match)
            tests = [f"{var}.__class__ is not str", f"not {match}({var})", f"{var}.endswith('\\n')"]
        elif kind == "choice":
            (values,) = args
            tests = [f"{var}.__class__ is not str", f"{var} not in {self.constant(values)}"]
        elif kind == "bigint":
            tests = [f"{var}.__class__ is not int", f"not {BIGINT_MIN} <= {var} <= {BIGINT_MAX}"]
        elif kind == "boolean":
            tests = [f"({var} is not True and {var} is not False)"]
        elif kind == "date":
            # Canonical dates only (kept as text, as checks.date keeps them); the rest go to records.decode.
            tests = [f"{var}.__class__ is not str", f"not _canonical({var})"]
        elif kind == "metadata_key":
            regex, max_length = args
            tests = [
                f"{var}.__class__ is not str",
                f"'\\x00' in {var}",
                f"not ({var}.isascii() or _unicode({var}))",
                f"len({var}) > {max_length}",
                f"not {self.constant(regex.match)}({var})",
            ]
        else:
            raise ValueError(f"no fast check for {kind!r}")
        self.emit(indent, f"if {' or '.join(tests)}:", "    raise _Doubt")
        if kind == "date":
            self.emit(indent, f"_iso({var})")  # ValueError for an impossible date: records.decode's to report

    def fields(self, indent: int, body: str, fields, prefix: str, *, extra: str = "0") -> list[str]:
        """Lines checking `body`'s flat `fields`; returns the value variables (in order).

        Every key of `body` must be one of `fields` or one of `extra` (an expression counting the
        extra keys present) and no value may be null: the count of present fields tells.
        """
        names = []
        required = sum(1 for _, _, req in fields if req)
        self.emit(indent, f"get = {body}.get")
        optional = False
        for i, (key, check, req) in enumerate(fields):
            var = f"{prefix}{i}"
            names.append(var)
            self.emit(indent, f"{var} = get({key!r})")
            if req:
                self.emit(indent, f"if {var} is None:", "    raise _Doubt")
                self.check(indent, var, check)
            else:
                if not optional:
                    self.emit(indent, "n = 0")
                    optional = True
                self.emit(indent, f"if {var} is not None:")
                self.check(indent + 1, var, check)
                self.emit(indent + 1, "n += 1")
        count = f"{required} + n" if optional else str(required)
        self.emit(indent, f"if len({body}) != {count} + {extra}:", "    raise _Doubt")
        return names

    def compile(self) -> dict:
        namespace = dict(self.names)
        exec(compile("\n".join(self.lines), "<exchange decoders>", "exec"), namespace)  # noqa: S102 (our own source)
        return namespace


def _flat_decoder(src: _Source, name: str, table: str, fields) -> None:
    src.emit(0, f"def {name}(line, body, buffers):")
    values = src.fields(1, "body", fields, "v")
    src.emit(1, f"buffers[{table!r}].append((line, {', '.join(values)}))", "")


def _history_decoder(src: _Source) -> None:
    src.emit(0, "def history(line, body, buffers):")
    src.emit(1, "u = body.get('updatedBy')", "d = body.get('destinationUpdatedBy')")
    values = src.fields(1, "body", HISTORY_FIELDS, "v", extra="(u is not None) + (d is not None)")
    for actor in ("u", "d"):
        src.emit(1, f"if {actor} is None:", f"    {actor}0 = {actor}1 = None", "else:")
        src.emit(2, f"if {actor}.__class__ is not dict or not {actor}:", "    raise _Doubt")
        src.fields(2, actor, ACTOR_FIELDS, actor)
    src.emit(1, f"buffers['history'].append((line, {', '.join(values)}, u0, u1, d0, d1))", "")


def _contact_decoder(src: _Source) -> None:
    """Rows are gathered first and appended only once the whole record passed."""
    e = src.emit
    e(0, "def contact(line, body, buffers):")
    e(1, "prefs = body.get('notificationPreferences')", "accounts = body.get('accounts')")
    e(1, "if prefs.__class__ is not dict or accounts.__class__ is not list:", "    raise _Doubt")
    wrapped = (("addresses", "address"), ("emailAddresses", "emailAddress"), ("phoneNumbers", "phoneNumber"))
    for outer, _ in wrapped:
        e(1, f"{outer} = body.get({outer!r})")
    present = " + ".join(f"({outer} is not None)" for outer, _ in wrapped)
    head = src.fields(1, "body", CONTACT_FIELDS + CONTACT_TAIL_FIELDS, "v", extra=f"2 + {present}")
    tail = head[len(CONTACT_FIELDS) :]
    head = head[: len(CONTACT_FIELDS)]
    flags = src.fields(1, "prefs", NOTIFICATION_FIELDS, "f")
    e(1, f"number = {head[0]}", "pos = 0")
    children = (("address", ADDRESS_FIELDS), ("email", EMAIL_FIELDS), ("phone", PHONE_FIELDS))
    for (outer, inner), (table, fields) in zip(wrapped, children, strict=True):
        e(1, f"{table}_rows = []")
        e(1, f"if {outer} is not None:")
        e(2, f"if {outer}.__class__ is not dict or len({outer}) != 1:", "    raise _Doubt")
        e(2, f"items = {outer}.get({inner!r})")
        e(2, "if items.__class__ is not list or not items:", "    raise _Doubt")
        e(2, "for item in items:")
        e(3, "if item.__class__ is not dict:", "    raise _Doubt")
        values = src.fields(3, "item", fields, "x")
        if table == "phone":  # the search key, as records.decode computes it (number and country come first)
            values = [*values, f"{src.constant(PHONE_SEARCH_KEY)}({values[0]}, {values[1]})"]
        e(3, "pos += 1", f"{table}_rows.append((line, pos, number, {', '.join(values)}))")
    e(1, "link_rows = []", "role_rows = []", "seen = set()")
    e(1, "for item in accounts:")
    e(2, "if item.__class__ is not dict:", "    raise _Doubt")
    e(2, "roles = item.get('roles')")
    e(2, "if roles.__class__ is not list:", "    raise _Doubt")
    link = src.fields(2, "item", LINK_FIELDS, "a", extra="1")
    e(2, f"account = ({', '.join(link)})")
    e(2, "if account in seen:", "    raise _Doubt", "seen.add(account)")
    e(2, "pos += 1", f"link_rows.append((line, pos, number, {', '.join(link)}))")
    e(2, f"if len(set(roles)) != len(roles) or not {src.constant(frozenset(ROLE.spec[1]))}.issuperset(roles):")
    e(3, "raise _Doubt")
    e(2, "for role in roles:")
    e(3, "if role.__class__ is not str:", "    raise _Doubt")
    e(3, "pos += 1", f"role_rows.append((line, pos, number, {', '.join(link)}, role))")
    e(1, f"buffers['contact'].append((line, {', '.join(head + flags + tail)}))")
    for table in ("address", "email", "phone", "link", "role"):
        e(1, f"if {table}_rows:", f"    buffers[{table!r}].extend({table}_rows)")
    e(1, "")


def _build() -> dict:
    src = _Source()
    _flat_decoder(src, "customer", "customer", CUSTOMER_FIELDS)
    _flat_decoder(src, "account", "account", ACCOUNT_FIELDS)
    _flat_decoder(src, "metadata", "metadata", METADATA_FIELDS)
    _flat_decoder(src, "status", "status", STATUS_FIELDS)
    _flat_decoder(src, "rcn_change", "rcn", RCN_FIELDS)
    _history_decoder(src)
    _contact_decoder(src)
    namespace = src.compile()
    # Namespaces are few: records.decode does them.
    return {
        "customer": namespace["customer"],
        "customerAccount": namespace["account"],
        "contact": namespace["contact"],
        "metadata": namespace["metadata"],
        "statusChange": namespace["status"],
        "customerAccountHistory": namespace["history"],
        "accountRCNChange": namespace["rcn_change"],
    }


_FAST = _build()
assert set(_FAST) <= set(KINDS) and all(table in STAGING for table in ("customer", "rcn"))


def decode(line: int, record, buffers) -> str:
    """`records.decode`, faster: validate one record, append its staging rows to `buffers`, return its kind.

    Raises Invalid (without the line number), exactly as records.decode does.
    """
    if record.__class__ is dict and len(record) == 1:
        for kind, body in record.items():
            fast = _FAST.get(kind)
            if fast is not None and body.__class__ is dict:
                try:
                    fast(line, body, buffers)
                except (_Doubt, TypeError, ValueError):
                    pass  # records.decode decides, and appends or raises
                else:
                    return kind
    return records.decode(line, record, buffers)
