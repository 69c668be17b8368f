"""Choices of customers, accounts and their history trails (the values the CMS API uses)."""

from django.db import models

__all__ = [
    "AccountType",
    "AccountStatus",
    "CollectionsStatus",
    "AccessPolicy",
    "FraudStatus",
    "UserType",
    "AccountChangeType",
    "RCNChangeType",
]


class AccountType(models.TextChoices):
    CLOUD = "CLOUD", "Cloud"
    MANAGED_HOSTING = "MANAGED_HOSTING", "Managed Hosting"
    FANATICAL_SUPPORT_FOR_AWS = "FANATICAL_SUPPORT_FOR_AWS", "Fanatical Support for AWS"


class AccountStatus(models.TextChoices):
    ACTIVE = "Active"
    PENDING_APPROVAL = "Pending Approval"
    DELINQUENT = "Delinquent"
    SUSPENDED = "Suspended"
    CLOSED = "Closed"


class CollectionsStatus(models.TextChoices):
    CURRENT = "CURRENT", "Current"
    DELINQUENT_LEVEL_1 = "DELINQUENT_LEVEL_1", "Delinquent, level 1"
    DELINQUENT_LEVEL_2 = "DELINQUENT_LEVEL_2", "Delinquent, level 2"
    DELINQUENT_LEVEL_3 = "DELINQUENT_LEVEL_3", "Delinquent, level 3"
    WRITTEN_OFF = "WRITTEN_OFF", "Written off"


class AccessPolicy(models.TextChoices):
    FULL = "FULL", "Full"
    SUSPENDED = "SUSPENDED", "Suspended"


class FraudStatus(models.TextChoices):
    ACCEPT = "ACCEPT", "Accept"
    PENDING_APPROVAL = "PENDING_APPROVAL", "Pending approval"
    REJECT = "REJECT", "Reject"


class UserType(models.TextChoices):
    RACKER = "RACKER", "Staff"
    CUSTOMER = "CUSTOMER", "Customer"
    SYSTEM = "SYSTEM", "System"


class AccountChangeType(models.TextChoices):
    """Change types of the account history trail (customerAccountHistory)."""

    NEW = "NEW"
    COLLECTIONS_STATUS = "COLLECTIONS_STATUS"
    RCN_UPDATE = "RCN_UPDATE"
    LEGACY_ACCOUNT_STATUS = "LEGACY_ACCOUNT_STATUS"
    NICKNAME = "NICKNAME"


class RCNChangeType(models.TextChoices):
    """Change types of the RCN trail (accountRCNChange)."""

    NEW = "NEW"
    RCN_UPDATE = "RCN_UPDATE"
    MERGE = "MERGE"
