"""FilterSet of change records, used by both the staff change log (and its CSV) and the /v1/changes feed.

Filters narrow what `cmsportal.changes.access.visible_changes` already allows; none widens it.
"""

from datetime import UTC, datetime

import django_filters
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date as parse_day

from cmsportal.dates import parse_date

from .choices import Action, ObjectType
from .models import Change, of_object

__all__ = ["ChangeFilterSet"]


class ChangeFilterSet(django_filters.FilterSet):
    objectType = django_filters.ChoiceFilter(field_name="object_type", choices=ObjectType.choices, label="Object type")
    action = django_filters.ChoiceFilter(field_name="action", choices=Action.choices, label="Action")
    key = django_filters.CharFilter(method="filter_key", label="Object key (exact)")
    rcn = django_filters.CharFilter(field_name="rcn", label="RCN")
    account = django_filters.CharFilter(field_name="account_key", label="Account (TYPE/ID)")
    actor = django_filters.CharFilter(field_name="actor_username", label="Who (username)")
    q = django_filters.CharFilter(method="filter_q", label="Key contains")
    since = django_filters.CharFilter(method="filter_since", label="Since (ISO 8601)")
    until = django_filters.CharFilter(method="filter_until", label="Until (ISO 8601)")

    class Meta:
        model = Change
        fields = []

    def filter_key(self, qs, name, value):
        return qs.filter(of_object(value))

    def filter_q(self, qs, name, value):
        value = value.strip()
        return qs.filter(object_key__icontains=value) if value else qs

    def filter_since(self, qs, name, value):
        return qs.filter(time__gte=_when(name, value))

    def filter_until(self, qs, name, value):
        return qs.filter(time__lt=_when(name, value))


def _when(name, value):
    """A time, or a day (its midnight, UTC)."""
    try:
        return parse_date(value)
    except ValueError:
        pass
    try:
        day = parse_day(value.strip())
    except ValueError:
        day = None
    if day is not None:
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    raise ValidationError({name: f"{value!r} is not a date or time (ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00Z)."})
