"""Phone numbers as people type them: parsed and formatted by the phonenumbers library.

A stored number keeps exactly the text it was given (the API returns it as stored); beside it,
`PhoneNumber.normalized` holds its search key:

- E.164 (`+15408263188`) when the number parses as a possible number, in the region its `country`
  names (an ISO 3166 code such as `US` or `GB`) or else in DEFAULT_REGION;
- otherwise its digits alone (no `+`), so that it can still be found by them.

Search parses what is typed the same way, so `+1 540 826 3188`, `+15408263188`, `540-826-3188`
and `(540) 826 3188` all give the key `+15408263188`.
"""

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

__all__ = ["DEFAULT_REGION", "parse", "search_key", "key_prefix", "display", "tel_uri"]

# The region of a number written without a country code, unless its `country` names another.
DEFAULT_REGION = "US"
_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)


def _region(country: str | None) -> str:
    region = (country or "").strip().upper()
    return region if region in _REGIONS else DEFAULT_REGION


def parse(text: str | None, country: str | None = None) -> phonenumbers.PhoneNumber | None:
    """The number `text` writes (in the region `country` names), if it is a possible number."""
    if not text or len(text) > 64:
        return None
    try:
        number = phonenumbers.parse(text, _region(country))
    except NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def _digits(text: str) -> str:
    return "".join(ch for ch in text if "0" <= ch <= "9")


def search_key(text: str | None, country: str | None = None) -> str:
    """The normalised search key of a stored or typed number: E.164, or its digits when it does not parse."""
    number = parse(text, country)
    if number is None:
        return _digits(text or "")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def key_prefix(text: str) -> str | None:
    """The search-key prefix a partial number typed with its country code (`+1 540`), or without it in
    DEFAULT_REGION (`540 82`), stands for; None without digits."""
    digits = _digits(text)
    if not digits:
        return None
    if text.lstrip().startswith("+"):
        return f"+{digits}"
    return f"+{phonenumbers.country_code_for_region(DEFAULT_REGION)}{digits}"


def display(text: str | None, country: str | None = None) -> str:
    """How the pages show a number: international format (`+1 540-826-3188`), or as stored when it does not parse."""
    number = parse(text, country)
    if number is None:
        return text or ""
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def tel_uri(text: str | None, country: str | None = None) -> str:
    """A tel: URI for the number: E.164 (`tel:+15408263188`), or its digits when it does not parse."""
    number = parse(text, country)
    if number is None:
        digits = _digits(text or "")
        return f"tel:+{digits}" if (text or "").strip().startswith("+") else f"tel:{digits}"
    return f"tel:{phonenumbers.format_number(number, PhoneNumberFormat.E164)}"
