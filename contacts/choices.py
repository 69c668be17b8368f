"""Choices of contacts: the roles a contact holds on an account."""

from django.db import models

__all__ = ["Role"]


class Role(models.TextChoices):
    PRIMARY = "PRIMARY", "Primary"
    BILLING = "BILLING", "Billing"
    TECHNICAL = "TECHNICAL", "Technical"
    ADMINISTRATIVE = "ADMINISTRATIVE", "Administrative"
