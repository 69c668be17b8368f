"""The change feed's rows: what a reader may see, in feed order, below the horizon.

The feed lists changes newest first by (`txid`, `id`) (see `cmsportal.changes.models`). On PostgreSQL it
shows only the changes of transactions below the horizon, the oldest transaction still running when the
query's snapshot was taken (`pg_snapshot_xmin(pg_current_snapshot())`): every transaction that may still
commit has a txid at or above it, so a reader that remembers the newest change it saw and asks for newer
ones never skips a change that commits later, however the transactions' commits interleave. The horizon
is part of the page's own statement (evaluated once, with the snapshot that reads the page). SQLite runs
one writer at a time and needs none.
"""

from django.db import connections, models
from django.db.models import QuerySet

from .access import visible_changes

__all__ = ["FEED_ORDER", "Horizon", "below_horizon", "feed_changes"]

FEED_ORDER = ("txid", "id")


class Horizon(models.Func):
    """The oldest transaction id still running (as of the statement's snapshot) as a bigint, on PostgreSQL."""

    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        raise NotImplementedError("The change feed's horizon is PostgreSQL's; elsewhere there is none.")

    def as_postgresql(self, compiler, connection, **extra_context):
        return "(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)", []


def below_horizon(queryset: QuerySet) -> QuerySet:
    """`queryset` without the changes of transactions that may still be running (PostgreSQL only)."""
    if connections[queryset.db].vendor == "postgresql":
        return queryset.filter(txid__lt=Horizon())
    return queryset


def feed_changes(user) -> QuerySet:
    """The changes `user` may see, below the horizon, in feed order (newest first)."""
    return below_horizon(visible_changes(user)).order_by(*(f"-{name}" for name in FEED_ORDER))
