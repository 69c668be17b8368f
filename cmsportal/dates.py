"""Dates as the CMS writes them: UTC, ISO-8601 with milliseconds (`2015-04-21T18:00:00.000Z`)."""

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

__all__ = ["now", "format_date", "parse_date"]


def now() -> datetime:
    """The current time, truncated to the milliseconds the API can show."""
    current = timezone.now()
    return current.replace(microsecond=current.microsecond // 1000 * 1000)


def format_date(value: datetime | None) -> str | None:
    if value is None:
        return None
    # isoformat writes four-digit years always (strftime's %Y writes year 999 as "999", which no ISO-8601 reader
    # accepts) and truncates to milliseconds; in UTC it ends with "+00:00". Twice as fast as formatting each part.
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_date(text: str) -> datetime:
    """Parse an ISO-8601 date; naive dates are UTC. Raises ValueError on anything else."""
    if not isinstance(text, str):
        raise ValueError("a date must be a string like 2015-04-21T18:00:00.000Z")
    value = parse_datetime(text.strip())
    if value is None:
        raise ValueError(f"not an ISO-8601 date: {text!r}")
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
