"""Writes of the staff pages' own records: saved filters, recently viewed records."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import QueryDict
from django.utils import timezone

from .choices import ListName
from .models import RecentView, SavedFilter

__all__ = ["MAX_SAVED_FILTERS", "RECENT_PER_KIND", "recent_view_record", "saved_filter_delete", "saved_filter_save"]

# How many recently viewed records of each kind are kept per user.
RECENT_PER_KIND = 10

# Enough for anyone's working set; a bound so that no one fills the table.
MAX_SAVED_FILTERS = 50
# Paging state is not part of a filter.
_NOT_SAVED = ("after", "before", "at")


def _clean_query(query: str) -> str:
    params = QueryDict(query, mutable=True)
    for name in _NOT_SAVED:
        params.pop(name, None)
    for name, values in params.lists():
        params.setlist(name, [value for value in values if value != ""])
    return "&".join(part for part in params.urlencode().split("&") if not part.endswith("="))


@transaction.atomic
def saved_filter_save(*, user, list_name: str, name: str, query: str) -> tuple[SavedFilter, bool]:
    """Save (or replace, by name) one of `user`'s filters of a list; returns (filter, created)."""
    if list_name not in ListName.values:
        raise ValidationError({"list_name": "Unknown list."})
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the filter a name."})
    if len(name) > 100:
        raise ValidationError({"name": "A name has at most 100 characters."})
    cleaned = _clean_query(query or "")
    if not cleaned:
        raise ValidationError({"query": "Apply at least one filter before saving it."})
    if len(cleaned) > 2000:
        raise ValidationError({"query": "These filters are too long to save."})
    existing = SavedFilter.objects.select_for_update().filter(user=user, list_name=list_name, name=name).first()
    if existing:
        existing.query = cleaned
        existing.save(update_fields=["query"])
        return existing, False
    if SavedFilter.objects.filter(user=user).count() >= MAX_SAVED_FILTERS:
        raise ValidationError({"name": f"You have {MAX_SAVED_FILTERS} saved filters: delete one first."})
    try:
        with transaction.atomic():
            return SavedFilter.objects.create(user=user, list_name=list_name, name=name, query=cleaned), True
    except IntegrityError:
        # The same name saved at the same moment by another request: that one stands, with these filters.
        saved = SavedFilter.objects.get(user=user, list_name=list_name, name=name)
        saved.query = cleaned
        saved.save(update_fields=["query"])
        return saved, False


@transaction.atomic
def saved_filter_delete(*, user, pk: int) -> None:
    """Delete one of `user`'s saved filters; SavedFilter.DoesNotExist if it is not theirs."""
    SavedFilter.objects.get(user=user, pk=pk).delete()


def recent_view_record(*, user, kind: str, object_id: int) -> None:
    """Remember that `user` opened a record of `kind` (RecentView.Kind), keeping the newest RECENT_PER_KIND of
    that kind: an upsert (concurrent views of one record cannot collide) and the trim, in one transaction.

    Navigation state, not a record: on PostgreSQL its commit does not wait for the disk (a crash may forget the
    last views, never leave them half written), which took the wait for the WAL flush off every record page.
    Only its own transaction: inside another one (whose writes must be durable) it commits as that one does.
    """
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if own_transaction and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        RecentView.objects.bulk_create(
            [RecentView(user=user, kind=kind, object_id=object_id, viewed=timezone.now())],
            update_conflicts=True,
            unique_fields=["user", "kind", "object_id"],
            update_fields=["viewed"],
        )
        mine = RecentView.objects.filter(user=user, kind=kind)
        newest = mine.order_by("-viewed", "-id").values("id")[:RECENT_PER_KIND]
        mine.exclude(id__in=newest).delete()
