"""Key/value metadata on accounts, and the access policies of metadata namespaces."""

import re

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Left, StrIndex

from accounts.models import Account

from .choices import Access

__all__ = [
    "KEY_RE",
    "KEY_MAX_LENGTH",
    "VALUE_MAX_LENGTH",
    "validate_key",
    "validate_value",
    "namespace_of",
    "Namespace",
    "Metadata",
]

# namespace:name; the namespace is the text before the first colon. No whitespace or control
# characters: keys travel in URL paths and XML attributes.
KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]+:[^\s\x00-\x1f\x7f]+$")
KEY_MAX_LENGTH = 255
# The longest metadata value, in characters; the services, the API, the forms and the import all refuse longer.
VALUE_MAX_LENGTH = 16384


def validate_key(key: str) -> None:
    if not isinstance(key, str) or len(key) > KEY_MAX_LENGTH or not KEY_RE.match(key):
        raise ValidationError(
            "A metadata key is namespace:name (letters, digits, '_', '.', '-' before the colon; "
            f"no spaces; at most {KEY_MAX_LENGTH} characters).",
            code="invalid_key",
        )


def validate_value(value: str) -> None:
    if isinstance(value, str) and len(value) > VALUE_MAX_LENGTH:
        raise ValidationError(
            f"A metadata value is at most {VALUE_MAX_LENGTH} characters (this one has {len(value)}).",
            code="max_length",
        )


def namespace_of(key: str) -> str:
    return key.split(":", 1)[0]


class Namespace(models.Model):
    """Access policy of a metadata namespace. A namespace without a policy is open.

    Write-restricted: everyone who may see the account reads it; only members of `writers` change it.
    Read-restricted: only members of `readers` (or `writers`) see it; only `writers` change it.
    """

    name = models.CharField(max_length=64, unique=True)
    access = models.CharField(max_length=20, choices=Access.choices, default=Access.OPEN)
    readers = models.ManyToManyField(Group, blank=True, related_name="readable_namespaces")
    writers = models.ManyToManyField(Group, blank=True, related_name="writable_namespaces")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(access__in=Access.values), name="namespace_access_valid")
        ]

    def __str__(self):
        return f"{self.name} ({self.get_access_display()})"


class Metadata(models.Model):
    """One metadata entry of an account; unique per account and key."""

    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        related_name="metadata",
        db_index=False,  # metadata_account_key_uniq
    )
    # The account's list key (type, account_id), copied so that accounts filtered by metadata are read in list
    # order from one range of the (key, account_type, account_ident) indexes. save() and the importer fill them
    # from the account. They never need updating: an account's type and id never change, and an entry never
    # moves to another account (the services and the admin keep an entry's account and key).
    account_type = models.CharField(max_length=32, editable=False)
    account_ident = models.CharField(max_length=64, editable=False)
    key = models.CharField(max_length=KEY_MAX_LENGTH, validators=[validate_key])
    namespace = models.GeneratedField(
        expression=Left("key", StrIndex("key", models.Value(":")) - 1),
        output_field=models.CharField(max_length=KEY_MAX_LENGTH),
        db_persist=True,
    )
    value = models.TextField(max_length=VALUE_MAX_LENGTH, validators=[validate_value])
    created_by = models.CharField(max_length=150, null=True, blank=True)
    created_date = models.DateTimeField(null=True, blank=True)
    last_updated_by = models.CharField(max_length=150, null=True, blank=True)
    last_updated_date = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["account", "key"]
        verbose_name_plural = "metadata"
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="metadata_account_key_uniq")]
        indexes = [
            models.Index(fields=["key", "account_type", "account_ident"], name="metadata_key_list_idx"),
            models.Index(fields=["namespace"], name="metadata_namespace_idx"),
        ]

    def __str__(self):
        return f"{self.key}={self.value[:40]}"

    def save(self, *args, **kwargs):
        # From the account object when one is at hand (no query), else loaded once for a new entry.
        if not self.account_type or self._meta.get_field("account").is_cached(self):
            self.account_type, self.account_ident = self.account.type, self.account.account_id
        super().save(*args, **kwargs)
