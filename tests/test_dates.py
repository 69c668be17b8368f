"""Dates as the CMS writes and reads them."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cmsportal.dates import format_date, parse_date


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2015, 4, 21, 18, 0, tzinfo=UTC), "2015-04-21T18:00:00.000Z"),
        (datetime(2015, 4, 21, 20, 5, 9, 123999, tzinfo=timezone(timedelta(hours=2))), "2015-04-21T18:05:09.123Z"),
        (datetime(999, 1, 2, 3, 4, 5, 6000, tzinfo=UTC), "0999-01-02T03:04:05.006Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000Z"),
    ],
)
def test_dates_are_written_in_utc_with_four_digit_years_and_milliseconds(value, text):
    assert format_date(value) == text
    assert parse_date(text) == value.astimezone(UTC).replace(microsecond=value.microsecond // 1000 * 1000)


def test_no_date_is_written_as_none():
    assert format_date(None) is None


@pytest.mark.parametrize("text", ["999-01-02T03:04:05.006Z", "yesterday", "", None, 20150421])
def test_what_is_not_an_iso_date_is_refused(text):
    with pytest.raises(ValueError):
        parse_date(text)
