"""Choices of metadata: a namespace's access policy."""

from django.db import models

__all__ = ["Access"]


class Access(models.TextChoices):
    OPEN = "OPEN", "Open"
    WRITE_RESTRICTED = "WRITE_RESTRICTED", "Write-restricted"
    READ_RESTRICTED = "READ_RESTRICTED", "Read-restricted"
