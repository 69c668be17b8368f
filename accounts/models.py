"""Customers, their accounts, and the three history trails of every account.

The field names follow the CMS API (docs/API.md) in snake case. Optional values are nullable so that
"absent" and "empty" stay different: the API omits absent values and the exchange format must
round-trip exactly what it was given.
"""

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F
from django.urls import reverse

# The choices live in choices.py; importing them from here keeps working.
from .choices import (  # noqa: F401
    AccessPolicy,
    AccountChangeType,
    AccountStatus,
    AccountType,
    CollectionsStatus,
    FraudStatus,
    RCNChangeType,
    UserType,
)

__all__ = [
    "RCN_RE",
    "rcn_validator",
    "chronological",
    "TrailQuerySet",
    "Customer",
    "Account",
    "REASON_MAX_LENGTH",
    "StatusChange",
    "AccountHistory",
    "RCNChange",
]

RCN_RE = r"^RCN-\d{3}-\d{3}-\d{3}$"
rcn_validator = RegexValidator(RCN_RE, "An RCN looks like RCN-123-456-789.")


def chronological(date_field: str) -> tuple[tuple, tuple]:
    """(oldest first, newest first) orderings of a history trail: by `date_field`, ties in the order
    written (id), whatever order the rows were imported in.

    An undated entry (the exchange format lets old trails leave dates out) sorts after every dated
    one oldest first, and so before them newest first: one order and its exact reverse, both a plain
    scan of the (account, date, id) index, in which PostgreSQL puts NULLs last.
    """
    oldest = (F(date_field).asc(nulls_last=True), F("id").asc())
    newest = (F(date_field).desc(nulls_first=True), F("id").desc())
    return oldest, newest


class TrailQuerySet(models.QuerySet):
    """A history trail's rows in date order (the model names its date field in DATE_FIELD)."""

    def oldest_first(self):
        return self.order_by(*chronological(self.model.DATE_FIELD)[0])

    def newest_first(self):
        return self.order_by(*chronological(self.model.DATE_FIELD)[1])


class Customer(models.Model):
    """A person or business, identified by its RCN; owns accounts and contacts."""

    rcn = models.CharField("RCN", max_length=15, unique=True, validators=[rcn_validator])
    name = models.CharField(max_length=255, null=True, blank=True)
    implicit = models.BooleanField(
        default=False,
        help_text="Created only because an imported account or contact named this RCN; "
        "not written back as a customer record on export.",
    )

    class Meta:
        ordering = ["rcn"]
        indexes = [models.Index(fields=["name"], name="customer_name_idx")]

    def __str__(self):
        return f"{self.rcn} {self.name}" if self.name else self.rcn

    def get_absolute_url(self):
        return reverse("accounts:customer_detail", args=[self.rcn])


class Account(models.Model):
    """One part of a customer's portfolio, identified by `TYPE/ID` (unique together)."""

    type = models.CharField(max_length=32, choices=AccountType.choices)
    account_id = models.CharField("account id", max_length=64)
    number = models.BigIntegerField(null=True, blank=True)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="accounts",
        db_index=False,  # account_customer_key_idx
    )
    name = models.CharField(max_length=255, null=True, blank=True)
    nickname = models.CharField(max_length=255, null=True, blank=True)
    status = models.CharField(max_length=32, choices=AccountStatus.choices, null=True, blank=True)
    tenant_id = models.CharField("tenant id", max_length=128, null=True, blank=True)
    domain = models.CharField(max_length=255, null=True, blank=True)
    service_level = models.CharField(max_length=64, null=True, blank=True)
    collections_status = models.CharField(max_length=32, choices=CollectionsStatus.choices, null=True, blank=True)
    access_policy = models.CharField(max_length=16, choices=AccessPolicy.choices, null=True, blank=True)
    parent_account_number = models.BigIntegerField(null=True, blank=True)
    created_by = models.CharField(max_length=150, null=True, blank=True)
    created_date = models.DateTimeField(null=True, blank=True)
    last_updated_by = models.CharField(max_length=150, null=True, blank=True)
    last_updated_date = models.DateTimeField(null=True, blank=True)

    class Meta:
        # (type, account_id) is also the marker order of API list pagination.
        ordering = ["type", "account_id"]
        constraints = [
            models.UniqueConstraint(fields=["type", "account_id"], name="account_type_id_uniq"),
            models.CheckConstraint(condition=models.Q(type__in=AccountType.values), name="account_type_valid"),
            models.CheckConstraint(
                condition=models.Q(status__isnull=True) | models.Q(status__in=AccountStatus.values),
                name="account_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(collections_status__isnull=True)
                | models.Q(collections_status__in=CollectionsStatus.values),
                name="account_collections_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(access_policy__isnull=True) | models.Q(access_policy__in=AccessPolicy.values),
                name="account_access_policy_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["number"], name="account_number_idx"),
            models.Index(fields=["tenant_id"], name="account_tenant_idx"),
            models.Index(fields=["domain"], name="account_domain_idx"),
            models.Index(fields=["status", "type", "account_id"], name="account_status_key_idx"),
            models.Index(fields=["customer", "type", "account_id"], name="account_customer_key_idx"),
        ]

    def __str__(self):
        return self.key

    @property
    def key(self) -> str:
        """The account's identifier as written in paths: `TYPE/ID`."""
        return f"{self.type}/{self.account_id}"

    @property
    def marker(self) -> str:
        """The account's position in list pagination: `TYPE:ID`."""
        return f"{self.type}:{self.account_id}"

    def get_absolute_url(self):
        return reverse("accounts:account_detail", args=[self.type, self.account_id])


# The longest reason a status change may carry (staff write it; the service refuses longer ones).
REASON_MAX_LENGTH = 500


class StatusChange(models.Model):
    """One entry of the status trail (statusChange); the API lists it newest first.

    `reason` is why staff made the change (required by the staff pages for the risky transitions, see
    services.status_change_risks). It belongs to the staff pages only: neither the API representation nor
    the exchange format has it (an imported trail leaves it NULL, an export leaves it out).
    """

    DATE_FIELD = "date"

    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        related_name="status_changes",
        db_index=False,  # statuschange_account_idx
    )
    date = models.DateTimeField()
    status = models.CharField(max_length=32, null=True, blank=True)
    username = models.CharField(max_length=150, null=True, blank=True)
    usertype = models.CharField(max_length=16, choices=UserType.choices, null=True, blank=True)
    collections_status = models.CharField(max_length=32, choices=CollectionsStatus.choices, null=True, blank=True)
    access_policy = models.CharField(max_length=16, choices=AccessPolicy.choices, null=True, blank=True)
    fraud_status = models.CharField(max_length=32, choices=FraudStatus.choices, null=True, blank=True)
    reason = models.CharField(max_length=REASON_MAX_LENGTH, null=True, blank=True)

    objects = TrailQuerySet.as_manager()

    class Meta:
        ordering = ["account", "-date", "-id"]
        indexes = [models.Index(fields=["account", "-date", "-id"], name="statuschange_account_idx")]

    def __str__(self):
        return f"{self.account_id} {self.status} {self.date:%Y-%m-%d}"


class AccountHistory(models.Model):
    """One entry of the account trail (customerAccountHistory); the API lists it oldest first."""

    DATE_FIELD = "updated_date"

    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        related_name="history",
        db_index=False,  # accthistory_account_date_idx
    )
    change_type = models.CharField(max_length=32, choices=AccountChangeType.choices)
    rcn = models.CharField("RCN", max_length=15, null=True, blank=True)
    updated_date = models.DateTimeField(null=True, blank=True)
    account_status = models.CharField(max_length=32, null=True, blank=True)
    collections_status = models.CharField(max_length=32, null=True, blank=True)
    nickname = models.CharField(max_length=255, null=True, blank=True)
    updated_by_username = models.CharField(max_length=150, null=True, blank=True)
    updated_by_type = models.CharField(max_length=16, choices=UserType.choices, null=True, blank=True)
    destination_updated_by_username = models.CharField(max_length=150, null=True, blank=True)
    destination_updated_by_type = models.CharField(max_length=16, choices=UserType.choices, null=True, blank=True)

    objects = TrailQuerySet.as_manager()

    class Meta:
        ordering = ["account", *chronological("updated_date")[0]]
        verbose_name_plural = "account history"
        indexes = [models.Index(fields=["account", "updated_date", "id"], name="accthistory_account_date_idx")]

    def __str__(self):
        return f"{self.account_id} {self.change_type}"


class RCNChange(models.Model):
    """One entry of the RCN trail (accountRCNChange): which customer owned the account, and since when.

    The API lists it oldest first, by date (a MERGE dated before an RCN_UPDATE written earlier
    comes first).
    """

    DATE_FIELD = "date"

    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        related_name="rcn_changes",
        db_index=False,  # rcnchange_account_date_idx
    )
    change_type = models.CharField(max_length=16, choices=RCNChangeType.choices)
    username = models.CharField(max_length=150, null=True, blank=True)
    rcn = models.CharField("RCN", max_length=15, null=True, blank=True)
    date = models.DateTimeField(null=True, blank=True)

    objects = TrailQuerySet.as_manager()

    class Meta:
        ordering = ["account", *chronological("date")[0]]
        verbose_name = "RCN change"
        indexes = [
            models.Index(fields=["account", "date", "id"], name="rcnchange_account_date_idx"),
            models.Index(fields=["rcn"], name="rcnchange_rcn_idx"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.change_type} {self.rcn}"
