"""The checks of a record's fields: each takes (value, key), returns the value to stage or raises Invalid.

A check also carries a `spec` (its kind and parameters), from which decoders.py compiles its fast
path: a check added here needs a case there, or the compiled decoders give every field it checks to
records.decode. Strings: no NUL (PostgreSQL text cannot hold it), no lone surrogates, at most the
model field's length. `null` is never a value (leave the field out). Dates may be any ISO-8601 date
`cmsportal.dates.parse_date` reads; they are kept in UTC to the millisecond, which is what the export
writes, and a date already in that form (CANONICAL_DATE) is kept as its text.
"""

import re
from datetime import UTC, datetime

from cmsportal.dates import parse_date

__all__ = [
    "BIGINT_MAX",
    "BIGINT_MIN",
    "CANONICAL_DATE",
    "Invalid",
    "account_id",
    "bigint",
    "boolean",
    "choice",
    "date",
    "metadata_key",
    "pattern",
    "text",
    "type_name",
]


class Invalid(ValueError):
    """A field that is not what the format says; becomes an ExchangeError with the line number."""


BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


def type_name(value) -> str:
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


def text(max_length: int | None = None, *, empty: bool = True):
    """A string: no NUL (PostgreSQL text cannot hold it), no lone surrogates (not UTF-8), at most `max_length`."""

    def check(value, key):
        if value.__class__ is not str:
            raise Invalid(f"{key!r} must be a string, not {type_name(value)}")
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
            raise Invalid(f"{key!r} must be a string like {example}, not {type_name(value)}")
        if not regex.match(value) or value.endswith("\n"):
            raise Invalid(f"{key!r} must look like {example}, not {value!r}")
        return value

    check.spec = ("pattern", regex)
    return check


def choice(choices):
    """One of `choices` (a TextChoices class or a sequence of values)."""
    choices = tuple(getattr(choices, "values", choices))
    values = frozenset(choices)
    listed = ", ".join(choices)

    def check(value, key):
        if value.__class__ is not str or value not in values:
            shown = repr(value) if value.__class__ is str else type_name(value)
            raise Invalid(f"{key!r} must be one of {listed}, not {shown}")
        return value

    check.spec = ("choice", values)
    return check


def bigint(value, key):
    if value.__class__ is not int:
        raise Invalid(f"{key!r} must be an integer, not {type_name(value)}")
    if not BIGINT_MIN <= value <= BIGINT_MAX:
        raise Invalid(f"{key!r} is out of range")
    return value


def boolean(value, key):
    if value is not True and value is not False:
        raise Invalid(f"{key!r} must be true or false, not {type_name(value)}")
    return value


# The form the export writes (UTC, milliseconds): a date in it is kept as this text, which PostgreSQL
# reads as the same instant; ASCII digits only, so that both parsers agree on every character.
CANONICAL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\Z")


def date(value, key):
    """An ISO-8601 date -> aware UTC datetime truncated to milliseconds, or the text itself when it is
    a valid date in the canonical form (CANONICAL_DATE), which already is one."""
    if value.__class__ is not str:
        raise Invalid(f"{key!r} must be a date string like 2015-04-21T18:00:00.000Z, not {type_name(value)}")
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


def metadata_key(regex: re.Pattern, max_length: int):
    """A metadata key: namespace:name, at most `max_length` characters, matching `regex` (its declaration)."""

    def check(value, key):
        _any_text(value, key)
        if len(value) > max_length or not regex.match(value):
            raise Invalid(
                f"{key!r} {value!r}: A metadata key is namespace:name (letters, digits, '_', '.', '-' before the "
                f"colon; no spaces; at most {max_length} characters)."
            )
        return value

    check.spec = ("metadata_key", regex, max_length)
    return check


def account_id(max_length: int):
    """An account id: not empty, at most `max_length` characters, no '/' nor control characters."""
    as_text = text(max_length, empty=False)

    def check(value, key):
        as_text(value, key)
        if "/" in value or any(ch < " " or ch == "\x7f" for ch in value):
            raise Invalid(f"{key!r} must not contain '/' or control characters")
        return value

    check.spec = ("account_id", max_length)
    return check
