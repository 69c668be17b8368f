"""One row per change to the directory (NetBox's change log shape, written explicitly by the services).

The feed's order is (`txid`, `id`): on PostgreSQL `txid` is the writing transaction's id, taken when
the row is inserted, so the rows of one transaction are adjacent, and a reader that shows only the
rows of transactions older than its snapshot's oldest running one (`pg_snapshot_xmin`) can never
skip a row that commits later: every transaction that could still commit has a txid at or above
that horizon. SQLite runs one writer at a time, so there `txid` is 0 and `id` alone is commit order.
"""

from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q

from accounts import choices as account_choices

from .choices import Action, DeliveryState, ObjectType

__all__ = [
    "ACCOUNT_KEYED",
    "Change",
    "Delivery",
    "DeliveryState",
    "Subscription",
    "TransactionId",
    "account_key_of",
    "of_object",
]


class TransactionId(models.Func):
    """The current transaction's id as a bigint on PostgreSQL; 0 elsewhere (one writer at a time)."""

    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        return "0", []

    def as_postgresql(self, compiler, connection, **extra_context):
        return "(pg_current_xact_id()::text::bigint)", []


# The object types whose key is or ends with their account's key ("TYPE/ID", "TYPE/ID namespace:name"), recorded
# with that account in `account_key` (`change_record` holds every record to it).
ACCOUNT_KEYED = (ObjectType.ACCOUNT, ObjectType.METADATA)


def account_key_of(object_type: str, object_key: str) -> str:
    """The account key of an ACCOUNT_KEYED object's key: the key itself for an account, all before the last space
    for a metadata entry (its namespace:name has no whitespace; an account id might)."""
    return object_key if object_type == ObjectType.ACCOUNT else object_key.rsplit(" ", 1)[0]


def of_object(object_key: str, object_type: str | None = None) -> Q:
    """The changes of the object with this key (of this type, when given), in a form both indexes answer: an
    account-keyed object's by the account index, any other's by the object key index."""
    arms = {
        kind: Q(account_key=account_key_of(kind, object_key), object_key=object_key, object_type=kind)
        for kind in ACCOUNT_KEYED
    }
    other = Q(object_key=object_key) & ~Q(object_type__in=ACCOUNT_KEYED)
    if object_type is not None:
        return arms.get(object_type, other & Q(object_type=object_type))
    query = other
    for arm in arms.values():
        query |= arm
    return query


class Change(models.Model):
    """A change to one object: who, when, what, and the changed fields' values before and after.

    `before` / `after` hold the declared representation's keys (see `cmsportal.resources.snapshot`):
    the whole object for create (after) and delete (before), the changed keys for the rest. Natural
    keys, not foreign keys: a record outlives its object. `rcn` and `account_key` name the customer
    and account the object belonged to, so that their pages list their children's changes and a
    tenant sees only the changes of accounts it may see; `namespace` lets a metadata value be
    redacted for whoever may not read it. Never a secret: tokens and API keys are named, not shown.
    """

    id = models.BigAutoField(primary_key=True)
    txid = models.BigIntegerField(db_default=TransactionId(), editable=False)
    time = models.DateTimeField()
    request_id = models.UUIDField(help_text="Groups the changes of one request, command or import.")
    actor_username = models.CharField(max_length=150)
    actor_type = models.CharField(max_length=10, choices=account_choices.UserType.choices)
    object_type = models.CharField(max_length=20, choices=ObjectType.choices)
    object_key = models.CharField(max_length=300)
    action = models.CharField(max_length=20, choices=Action.choices)
    rcn = models.CharField("RCN", max_length=20, null=True, blank=True)
    account_key = models.CharField(max_length=100, null=True, blank=True)
    namespace = models.CharField(max_length=100, null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-txid", "-id"]
        # Every index is paid for by every write: its WAL, and at scale a random leaf page read into the buffer
        # cache (evicting another) and written whole into the WAL once per checkpoint. So only what a page, a
        # filter or the feed reads is indexed (nothing reads changes by request id), and an account's and a
        # metadata entry's changes are found by the account index (see `of_object`), not the object index.
        indexes = [
            models.Index(fields=["txid", "id"], name="change_feed_idx"),
            models.Index(
                fields=["object_key", "id"], name="change_object_key_idx", condition=~Q(object_type__in=ACCOUNT_KEYED)
            ),
            models.Index(fields=["rcn", "id"], name="change_rcn_idx"),
            models.Index(fields=["account_key", "id"], name="change_account_idx"),
            models.Index(fields=["actor_username", "id"], name="change_actor_idx"),
            models.Index(fields=["time"], name="change_time_idx"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} {self.get_object_type_display().lower()} {self.object_key}"


class Subscription(models.Model):
    """A webhook: where to POST the changes that match its filters, and the key that signs them.

    `secret` is the HMAC-SHA256 key shared with the receiver. Signing needs the key itself, so it is kept
    as given (in this table, as text: the database's access control and backups protect it, as they
    protect the directory itself); the admin shows it once, when the subscription is created, and only a
    masked form after. `object_types` and `actions` are comma-separated choices; empty means all.
    """

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField("URL", max_length=500, validators=[URLValidator(schemes=["http", "https"])])
    secret = models.CharField(max_length=200, editable=False)
    enabled = models.BooleanField(default=True)
    object_types = models.CharField(max_length=300, blank=True, default="", help_text="Empty: every object type.")
    actions = models.CharField(max_length=300, blank=True, default="", help_text="Empty: every action.")
    max_attempts = models.PositiveSmallIntegerField(default=8, help_text="A delivery is dead after this many.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def masked_secret(self) -> str:
        return f"…{self.secret[-4:]}" if len(self.secret) >= 16 else "(set)"


class Delivery(models.Model):
    """The outbox: one row per change per matching subscription, written in the change's transaction.

    `object_type` and `object_key` copy the change's, so that the worker keeps each object's deliveries in
    order per subscription with one index. `next_attempt_at` is also the lease of a claimed delivery.
    """

    id = models.BigAutoField(primary_key=True)
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    change = models.ForeignKey(Change, on_delete=models.CASCADE, related_name="deliveries")
    object_type = models.CharField(max_length=20, choices=ObjectType.choices)
    object_key = models.CharField(max_length=300)
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The last answer's HTTP status.")
    last_error = models.CharField(max_length=500, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            # The worker's due deliveries, and the earlier pending one of the same object that holds one back.
            models.Index(
                fields=["next_attempt_at", "id"], name="delivery_due_idx", condition=models.Q(state="pending")
            ),
            models.Index(
                fields=["subscription", "object_type", "object_key", "change"],
                name="delivery_object_idx",
                condition=models.Q(state="pending"),
            ),
            models.Index(fields=["state", "id"], name="delivery_state_idx"),
            models.Index(fields=["change"], name="delivery_change_idx"),
        ]

    def __str__(self):
        return f"Delivery {self.id} of change {self.change_id} to {self.subscription}"
