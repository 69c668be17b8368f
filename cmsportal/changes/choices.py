"""The kinds of object the change log records and what was done to them."""

from django.db import models

__all__ = ["Action", "DeliveryState", "ObjectType"]


class ObjectType(models.TextChoices):
    """What a change record is about; its `object_key` is that object's natural key (shown beside)."""

    CUSTOMER = "customer", "Customer"  # RCN
    ACCOUNT = "account", "Account"  # TYPE/ID
    CONTACT = "contact", "Contact"  # RPN
    METADATA = "metadata", "Metadata"  # TYPE/ID namespace:name
    NAMESPACE = "namespace", "Namespace"  # namespace
    TENANT_GRANT = "tenant_grant", "Tenant grant"  # username tenant_id
    TOKEN = "token", "Token"  # username and the token's id (never the token)
    API_KEY = "api_key", "API key"  # username and the key's name (never the key)
    USER = "user", "User"  # username
    GROUP = "group", "Group"  # group name
    IMPORT = "import", "Import"  # the file name


class Action(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    DELETE = "delete", "Deleted"
    MOVE = "move", "Moved"
    MERGE = "merge", "Merged"
    ROLE_ADD = "role_add", "Role added"
    ROLE_REMOVE = "role_remove", "Role removed"
    ISSUE = "issue", "Issued"
    REVOKE = "revoke", "Revoked"
    IMPORT = "import", "Imported"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead"
