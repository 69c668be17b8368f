"""Webhooks: subscriptions, and the outbox of their deliveries, written in each change's own transaction.

`change_record` writes a change's deliveries in its own transaction: a pending delivery for every enabled
subscription whose filters match, so a change and its deliveries commit (or roll back) together. On PostgreSQL
the change and its deliveries are one statement (`insert_with_deliveries`: an INSERT of the change and an
INSERT ... SELECT of the deliveries in one WITH), elsewhere the change's save is followed by `enqueue(change)`;
a change with no subscriptions inserts no delivery either way. The worker (`manage.py cms_deliver`,
`cmsportal.changes.delivery`) claims due deliveries with `deliveries_claim` and records what the receiver
answered with `delivery_succeeded` / `delivery_failed`; an administrator re-queues with `deliveries_resend`.
"""

import functools
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from cmsportal import dates

from .choices import Action, ObjectType
from .models import Change, Delivery, DeliveryState, Subscription

__all__ = [
    "ERROR_LENGTH",
    "MIN_SECRET_LENGTH",
    "deliveries_claim",
    "deliveries_resend",
    "delivery_failed",
    "delivery_succeeded",
    "enqueue",
    "insert_with_deliveries",
    "subscription_create",
    "subscription_delete",
    "subscription_update",
]

MIN_SECRET_LENGTH = 16
ERROR_LENGTH = Delivery._meta.get_field("last_error").max_length


# --- the outbox, in the change's transaction -------------------------------------------------------------------


def _like(value: str) -> str:
    """A LIKE pattern matching `value` as one item of a comma-separated list (its `_` taken literally)."""
    return "%," + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ",%"


def _cursor(connection):
    """On PostgreSQL (cmsportal.postgresql) a cursor whose statements the server prepares: the outbox's statement
    runs with every change, so it is parsed and planned once per connection (unless CMS_PREPARED_STATEMENTS
    is off); elsewhere an ordinary cursor."""
    if getattr(settings, "CMS_PREPARED_STATEMENTS", True) and hasattr(connection, "prepared_cursor"):
        return connection.prepared_cursor()
    return connection.cursor()


def enqueue(change: Change) -> None:
    """Add the change's deliveries: one per enabled subscription whose filters match. One statement."""
    connection = connections[change._state.db or "default"]
    with _cursor(connection) as cursor:
        cursor.execute(
            f"INSERT INTO {Delivery._meta.db_table} {_DELIVERY_COLUMNS} "  # noqa: S608 (names from the models)
            + _delivery_select("%s"),
            [change.pk, *_delivery_params(change, connection)],
        )


def _delivery_select(change_id: str, change_table: str = "") -> str:
    """The SELECT of the deliveries of the change whose id is `change_id` (SQL, from `change_table` if it names
    one): one row per matching subscription."""
    return (
        f"SELECT s.id, {change_id}, %s, %s, %s, 0, %s, '' "  # noqa: S608 (names from the models, no value)
        f"FROM {Subscription._meta.db_table} s{', ' + change_table if change_table else ''} "
        "WHERE s.enabled = %s "
        "AND (s.object_types = '' OR (',' || s.object_types || ',') LIKE %s ESCAPE '\\') "
        "AND (s.actions = '' OR (',' || s.actions || ',') LIKE %s ESCAPE '\\')"
    )


def _delivery_params(change: Change, connection) -> list:
    return [
        change.object_type,
        change.object_key,
        DeliveryState.PENDING,
        connection.ops.adapt_datetimefield_value(change.time),
        True,
        _like(change.object_type),
        _like(change.action),
    ]


_DELIVERY_COLUMNS = (
    "(subscription_id, change_id, object_type, object_key, state, attempts, next_attempt_at, last_error)"
)
# What a change record writes: every column but the id and the transaction id (the database's).
_CHANGE_FIELDS = [field for field in Change._meta.concrete_fields if field.name not in ("id", "txid")]


@functools.cache
def _insert_sql(deliveries: bool) -> str:
    """The statement of `insert_with_deliveries` (PostgreSQL's quoting): made once."""
    columns = ", ".join(f'"{field.column}"' for field in _CHANGE_FIELDS)
    sql = (
        f"WITH c AS (INSERT INTO {Change._meta.db_table} ({columns}) "  # noqa: S608 (names from the models)
        f"VALUES ({', '.join(['%s'] * len(_CHANGE_FIELDS))}) RETURNING id, txid)"
    )
    if deliveries:
        sql += f", d AS (INSERT INTO {Delivery._meta.db_table} {_DELIVERY_COLUMNS} {_delivery_select('c.id', 'c')})"
    return sql + " SELECT id, txid FROM c"  # noqa: S608 (names from the models)


def insert_with_deliveries(change: Change, using: str, deliveries: bool = True) -> None:
    """PostgreSQL: insert `change` and (unless `deliveries` is off) its deliveries in one statement, a
    data-modifying WITH, prepared once per connection: one round trip for the record and the outbox. Sets
    the change's id and txid as a save would."""
    connection = connections[using]
    values = [field.get_db_prep_save(getattr(change, field.attname), connection) for field in _CHANGE_FIELDS]
    if deliveries:
        values += _delivery_params(change, connection)
    with _cursor(connection) as cursor:
        cursor.execute(_insert_sql(deliveries), values)
        change.id, change.txid = cursor.fetchone()
    change._state.adding, change._state.db = False, using


# --- subscriptions -------------------------------------------------------------------------------------------------


def _choices(values: Iterable[str] | str, allowed, field: str) -> str:
    if isinstance(values, str):
        values = [value for value in values.split(",") if value.strip()]
    values = sorted({value.strip() for value in values})
    unknown = [value for value in values if value not in allowed.values]
    if unknown:
        raise ValidationError({field: f"Unknown: {', '.join(unknown)}."})
    return ",".join(values)


def _check(subscription: Subscription) -> None:
    subscription.full_clean(exclude=["secret"])
    if len(subscription.secret) < MIN_SECRET_LENGTH:
        raise ValidationError({"secret": f"A secret has at least {MIN_SECRET_LENGTH} characters."})


def subscription_create(
    *,
    name: str,
    url: str,
    secret: str = "",
    enabled: bool = True,
    object_types: Iterable[str] | str = (),
    actions: Iterable[str] | str = (),
    max_attempts: int = 8,
    instance: Subscription | None = None,
) -> tuple[Subscription, str]:
    """A new subscription and its secret (generated when none is given): the only time the secret is returned."""
    subscription = instance or Subscription()
    subscription.name, subscription.url, subscription.enabled = name, url, enabled
    subscription.secret = secret or secrets.token_urlsafe(32)
    subscription.object_types = _choices(object_types, ObjectType, "object_types")
    subscription.actions = _choices(actions, Action, "actions")
    subscription.max_attempts = max_attempts
    _check(subscription)
    subscription.save(force_insert=True)
    return subscription, subscription.secret


_EDITABLE = ("name", "url", "enabled", "object_types", "actions", "max_attempts")


def subscription_update(*, subscription: Subscription, **values) -> Subscription:
    """Change a subscription's name, URL, filters, attempts or enabled (never its secret: make a new one)."""
    unknown = set(values) - set(_EDITABLE)
    if unknown:
        raise TypeError(f"subscription_update cannot change {sorted(unknown)}")
    for name, value in values.items():
        if name == "object_types":
            value = _choices(value, ObjectType, name)
        elif name == "actions":
            value = _choices(value, Action, name)
        setattr(subscription, name, value)
    _check(subscription)
    subscription.save(update_fields=list(values) or None)
    return subscription


def subscription_delete(*, subscription: Subscription) -> None:
    """Delete a subscription and its deliveries, pending or not."""
    subscription.delete()


# --- deliveries ----------------------------------------------------------------------------------------------------


def deliveries_resend(*, deliveries: QuerySet | Iterable[int], now: datetime | None = None) -> int:
    """Queue the deliveries again, due now, with their attempts reset; how many."""
    ids = list(deliveries.values_list("pk", flat=True)) if isinstance(deliveries, QuerySet) else list(deliveries)
    return Delivery.objects.filter(pk__in=ids).update(
        state=DeliveryState.PENDING, attempts=0, next_attempt_at=now or dates.now(), last_error="", delivered_at=None
    )


def _due(now: datetime, using: str) -> QuerySet:
    """Pending deliveries due at `now` of enabled subscriptions (a disabled one's wait), each the oldest pending
    of its subscription and object; on PostgreSQL only those of transactions older than every one still
    running, so an earlier change of the same object that commits later cannot be overtaken."""
    earlier = Delivery.objects.using(using).filter(
        subscription_id=OuterRef("subscription_id"),
        object_type=OuterRef("object_type"),
        object_key=OuterRef("object_key"),
        state=DeliveryState.PENDING,
        change_id__lt=OuterRef("change_id"),
    )
    due = (
        Delivery.objects.using(using)
        .filter(state=DeliveryState.PENDING, next_attempt_at__lte=now, subscription__enabled=True)
        .exclude(Exists(earlier))
    )
    if connections[using].vendor == "postgresql":
        # (The claiming transaction's own changes too: committed for it; only ever the case in tests.)
        horizon = RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", [])
        own = RawSQL("pg_current_xact_id_if_assigned()::text::bigint", [])
        due = due.filter(Q(change__txid__lt=horizon) | Q(change__txid=own))
    return due


def deliveries_claim(
    *, limit: int, lease: timedelta, now: datetime | None = None, using: str = "default"
) -> list[Delivery]:
    """Claim up to `limit` due deliveries for one attempt: each has its attempt counted and is leased (its next
    attempt put `lease` ahead, so that a worker that dies mid-delivery leaves it to be retried).

    On PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED, so workers running at once claim different
    deliveries; SQLite has one writer at a time and no SKIP LOCKED: run one worker there.
    """
    now = now or dates.now()
    with transaction.atomic(using=using):
        chosen = list(
            _due(now, using)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        if not chosen:
            return []
        Delivery.objects.using(using).filter(pk__in=chosen).update(
            attempts=F("attempts") + 1, next_attempt_at=now + lease
        )
        return list(
            Delivery.objects.using(using).filter(pk__in=chosen).select_related("change", "subscription").order_by("id")
        )


def _current(delivery: Delivery, using: str) -> QuerySet:
    """The delivery, still pending and at the attempt this worker claimed (not re-claimed since its lease ran out)."""
    return Delivery.objects.using(using).filter(pk=delivery.pk, state=DeliveryState.PENDING, attempts=delivery.attempts)


def delivery_succeeded(*, delivery: Delivery, status: int, now: datetime | None = None, using: str = "default") -> bool:
    """Record a 2xx answer; False when the claim had lapsed (another attempt owns the delivery now)."""
    now = now or dates.now()
    return bool(
        _current(delivery, using).update(
            state=DeliveryState.DELIVERED, delivered_at=now, last_status=status, last_error="", next_attempt_at=now
        )
    )


def delivery_failed(
    *,
    delivery: Delivery,
    error: str,
    status: int | None = None,
    retry_in: timedelta,
    now: datetime | None = None,
    using: str = "default",
) -> str | None:
    """Record a failed attempt: retried after `retry_in`, or dead once the subscription's attempts are spent.
    The state it is left in, or None when the claim had lapsed."""
    now = now or dates.now()
    dead = delivery.attempts >= delivery.subscription.max_attempts
    state = DeliveryState.DEAD if dead else DeliveryState.PENDING
    updated = _current(delivery, using).update(
        state=state,
        last_status=status,
        last_error=error[:ERROR_LENGTH],
        next_attempt_at=now if dead else now + retry_in,
    )
    return state if updated else None
