"""Who may see what: tenant grants, and the global view permission."""

from django.conf import settings
from django.db import models


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
