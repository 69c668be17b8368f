"""What of the change log a user may see: the one gate the feed, the pages, the admin and the CSV use.

Holders of the global view permission see every change. A tenant user sees only the changes tied to
an account it may see (`account_key`: the account's own changes, its metadata's, and contacts' roles
on it); changes of customers, contacts as such, namespaces, identities and imports are staff matters.
Metadata values of a read-restricted namespace the user may not read are redacted, in before and
after alike (the key stays: which entry changed is not secret, its value is).
"""

from django.db.models import CharField, QuerySet, Value
from django.db.models.functions import Concat

from cmsportal.identity.access import can_view_all, visible_accounts
from metadata.services import unreadable_namespaces

from .models import Change

__all__ = ["REDACTED", "Redactor", "visible_changes"]

REDACTED = "(redacted)"
# The keys of a metadata snapshot that hold its value.
_VALUE_KEYS = ("value",)


def visible_changes(user, queryset: QuerySet | None = None) -> QuerySet:
    qs = Change.objects.all() if queryset is None else queryset
    if not (user and user.is_authenticated and user.is_active):
        return qs.none()
    if can_view_all(user):
        return qs
    keys = (
        visible_accounts(user)
        .annotate(change_key=Concat("type", Value("/"), "account_id", output_field=CharField()))
        .values("change_key")
    )
    return qs.filter(account_key__in=keys)


class Redactor:
    """Hides the values `user` may not read; one query for the user's unreadable namespaces, then none."""

    def __init__(self, user, hidden=None):
        """`hidden`: the user's unreadable namespaces when the caller has read them already (a precompiled
        query of `metadata.services.unreadable_namespaces_of`, say)."""
        self.hidden = frozenset(unreadable_namespaces(user) if hidden is None else hidden)

    def hides(self, change: Change) -> bool:
        return change.namespace is not None and change.namespace in self.hidden

    def values(self, change: Change) -> tuple[dict | None, dict | None]:
        """The change's (before, after), with hidden values replaced by REDACTED."""
        if not self.hides(change):
            return change.before, change.after
        return _redact(change.before), _redact(change.after)


def _redact(values: dict | None) -> dict | None:
    if values is None:
        return None
    return {key: (REDACTED if key in _VALUE_KEYS and value is not None else value) for key, value in values.items()}
