"""Writing change records for the feed's tests, and waiting until the feed may show them."""

import time

from django.db import connection, transaction

from cmsportal.changes.choices import Action, ObjectType
from cmsportal.changes.models import ACCOUNT_KEYED, Change, account_key_of
from cmsportal.changes.services import change_record
from cmsportal.identity.access import Actor

__all__ = ["held_elsewhere", "horizon", "record", "settle"]


def record(**fields) -> Change:
    """One change record, in its own transaction, as a service writes it."""
    values = {
        "object_type": ObjectType.ACCOUNT,
        "object_key": "CLOUD/1",
        "action": Action.UPDATE,
        "before": {"status": "Active"},
        "after": {"status": "Suspended"},
        "actor": Actor("writer", "RACKER"),
        "rcn": "RCN-000-000-001",
        "account_key": "CLOUD/1",
    }
    values.update(fields)
    if "account_key" not in fields and values["object_type"] in ACCOUNT_KEYED:
        # As the services record them.
        values["account_key"] = account_key_of(values["object_type"], values["object_key"])
    with transaction.atomic():
        change = change_record(**values)
    settle(change.txid)
    return change


def horizon() -> int | None:
    """The feed's horizon now (PostgreSQL), None elsewhere."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return cursor.fetchone()[0]


def held_elsewhere(txid: int) -> bool:
    """Whether a transaction of another database of the server, older than `txid`, is still running."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname IS DISTINCT FROM current_database()"
            " AND backend_xid IS NOT NULL AND backend_xid::text::bigint <= %s)",
            [txid % 2**32],
        )
        return cursor.fetchone()[0]


# However long someone else's transaction holds the horizon, a test gives up after this.
FOREIGN_PATIENCE = 120.0


def settle(txid: int, timeout: float = 15.0) -> float:
    """Wait until the feed shows transaction `txid`; returns the seconds spent waiting on other databases.

    The horizon is the whole server's: a transaction left open in another database (another test run on the
    same server) holds it back until it ends. That wait is not this code's: it is allowed (up to
    FOREIGN_PATIENCE) and reported, so that time bounds can leave it out."""
    if connection.in_atomic_block:
        return 0.0  # the test's own transaction, open until the test ends: the feed cannot show it
    start = time.monotonic()
    deadline, foreign = start + timeout, 0.0
    while (current := horizon()) is not None and current <= txid:
        if held_elsewhere(txid) and time.monotonic() - start < FOREIGN_PATIENCE:
            deadline += 0.05
            foreign += 0.05
        assert time.monotonic() < deadline, f"the horizon stayed at {current}, at or below {txid}"
        time.sleep(0.05)
    return foreign
