"""Writing change records. Every service that changes the directory calls these inside its own
transaction, so a change and its record stand or fall together."""

from collections.abc import Mapping

from django.db import connections, router, transaction

from cmsportal import dates
from cmsportal.identity.access import Actor

from . import outbox
from .choices import Action
from .context import current_actor, current_request_id
from .models import ACCOUNT_KEYED, Change, account_key_of

__all__ = ["change_record", "change_record_update", "changed_values"]


def changed_values(before: Mapping, after: Mapping) -> tuple[dict, dict]:
    """The keys whose values differ (a key present on one side only counts, with None on the other)."""
    keys = [key for key in {**before, **after} if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}


def change_record(
    *,
    object_type: str,
    object_key: str,
    action: str,
    before: Mapping | None = None,
    after: Mapping | None = None,
    actor: Actor | None = None,
    rcn: str | None = None,
    account_key: str | None = None,
    namespace: str | None = None,
    when=None,
) -> Change:
    """Record one change; must run inside the transaction that makes it."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("A change record is written in the transaction of the change it records.")
    if object_type in ACCOUNT_KEYED and account_key != account_key_of(object_type, object_key):
        # Their changes are looked up by the account index (models.of_object).
        raise ValueError(f"{object_key!r}: a {object_type} change names the account of its key.")
    actor = actor or current_actor()
    change = Change(
        time=when or dates.now(),
        request_id=current_request_id(),
        actor_username=actor.username,
        actor_type=actor.type,
        object_type=object_type,
        object_key=object_key,
        action=action,
        rcn=rcn,
        account_key=account_key,
        namespace=namespace,
        before=dict(before) if before is not None else None,
        after=dict(after) if after is not None else None,
    )
    _save(change)
    return change


def change_record_update(*, before: Mapping, after: Mapping, action: str = Action.UPDATE, **kwargs) -> Change | None:
    """Record the keys that changed between two snapshots; nothing (None) when none did."""
    old, new = changed_values(before, after)
    if not old and action == Action.UPDATE:
        return None
    return change_record(action=action, before=old, after=new, **kwargs)


def _save(change: Change) -> None:
    """Insert the change and hand it to the webhook outbox, in the same transaction (see cmsportal.changes.outbox):
    on PostgreSQL one statement, elsewhere the model's save and the outbox's."""
    using = router.db_for_write(Change)
    if connections[using].vendor == "postgresql":
        outbox.insert_with_deliveries(change, using)
    else:
        change.save(using=using, force_insert=True)
        outbox.enqueue(change)
