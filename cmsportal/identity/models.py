"""Who may see what: tenant grants, and the global view permission."""

from django.conf import settings
from django.db import models

__all__ = ["TenantGrant", "Token", "ApiKey", "SignInFailureCount"]


class TenantGrant(models.Model):
    """Lets a user see the accounts whose tenantId is `tenant_id` (and everything under them)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tenant_grants")
    tenant_id = models.CharField("tenant id", max_length=128)

    class Meta:
        ordering = ["user", "tenant_id"]
        constraints = [models.UniqueConstraint(fields=["user", "tenant_id"], name="tenantgrant_uniq")]
        permissions = [("view_all_accounts", "Can see every account, whatever its tenant")]

    def __str__(self):
        return f"{self.user} → {self.tenant_id}"


class Token(models.Model):
    """An API token (`X-Auth-Token`), issued by POST /v2.0/tokens.

    Only the SHA-256 hex digest of the token is stored; the token itself is shown once, in the response
    that issues it. A token is valid until `expires` unless revoked earlier.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField("key hash", max_length=64, unique=True, editable=False)
    created = models.DateTimeField()
    expires = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField("revoked", null=True, blank=True)
    last_used = models.DateTimeField("last used", null=True, blank=True)
    authenticated_by = models.JSONField(
        "authenticated by", default=list, help_text='How the holder proved who they are, e.g. ["PASSWORD"].'
    )

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"token of {self.user} issued {self.created:%Y-%m-%d %H:%M:%S}"

    def is_valid_at(self, moment) -> bool:
        return self.revoked_at is None and self.expires > moment


class ApiKey(models.Model):
    """A long-lived API key a user exchanges for tokens (`RAX-KSKEY:apiKeyCredentials`).

    Only the SHA-256 hex digest of the key is stored; the key is shown once, when issued. `prefix` is its
    first few characters, kept so that people can tell their keys apart; it is not enough to use the key.
    """

    PREFIX_LENGTH = 8

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, help_text="What the key is for, e.g. the system that uses it.")
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True, editable=False)
    key_hash = models.CharField("key hash", max_length=64, unique=True, editable=False)
    created = models.DateTimeField(editable=False)
    last_used = models.DateTimeField("last used", null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField("revoked", null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user", "-created", "-id"]
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class SignInFailureCount(models.Model):
    """Failed sign-ins counted under one key (a username and address pair, or an address) in one window.

    Kept in the database so that every worker process sees the same counts (without Redis); each row
    is changed by one atomic upsert (cmsportal/identity/throttling.py), never read, changed and written
    back. The key is a digest, so no username or address is stored.
    """

    key = models.CharField(max_length=80, primary_key=True)
    window_start = models.FloatField(help_text="When the first failure of the current window happened (Unix time).")
    count = models.IntegerField(default=0)

    class Meta:
        verbose_name = "failed sign-in count"
        default_permissions = ()

    def __str__(self):
        return f"{self.key}: {self.count}"
