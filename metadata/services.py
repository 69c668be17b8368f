"""Metadata writes (set, delete) and the namespace policy they enforce.

Policy: a namespace without a Namespace row is open. Open: anyone who may see the account reads
and writes. Write-restricted: everyone reads; only the namespace's writers write. Read-restricted:
only readers and writers see it; only writers write. Superusers may do everything; `user=None`
means the system itself (management commands, import) and bypasses the policy.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q

from accounts.models import Account
from cmsportal import dates
from cmsportal.identity.access import Actor

from .models import Access, Metadata, Namespace, namespace_of, validate_key, validate_value


def _policy(namespace: str) -> Namespace | None:
    return Namespace.objects.filter(name=namespace).prefetch_related("readers", "writers").first()


def _member(user, groups) -> bool:
    group_ids = {group.pk for group in groups.all()}
    return bool(group_ids) and user.groups.filter(pk__in=group_ids).exists()


def can_read_namespace(user, namespace: str, policy: Namespace | None = None) -> bool:
    if user is None or user.is_superuser:
        return True
    policy = policy or _policy(namespace)
    if policy is None or policy.access != Access.READ_RESTRICTED:
        return True
    return _member(user, policy.readers) or _member(user, policy.writers)


def can_write_namespace(user, namespace: str, policy: Namespace | None = None) -> bool:
    if user is None or user.is_superuser:
        return True
    policy = policy or _policy(namespace)
    if policy is None or policy.access == Access.OPEN:
        return True
    return _member(user, policy.writers)


def unreadable_namespaces(user) -> list[str]:
    """Names of the read-restricted namespaces `user` may not read (to leave out of lists). One query."""
    if user is None or user.is_superuser:
        return []
    restricted = Namespace.objects.filter(access=Access.READ_RESTRICTED)
    if not user.is_authenticated:
        return list(restricted.values_list("name", flat=True))
    # Subqueries, not a UNION: SQLite refuses the ORDER BY that Namespace's default ordering adds to each part.
    group_ids = user.groups.values("pk")
    readable = restricted.filter(Q(readers__in=group_ids) | Q(writers__in=group_ids)).values("pk")
    return list(restricted.exclude(pk__in=readable).values_list("name", flat=True))


def readable_metadata(account: Account, user):
    """The account's metadata that `user` may read."""
    return Metadata.objects.filter(account=account).exclude(namespace__in=unreadable_namespaces(user))


def _require_write(user, key: str) -> None:
    namespace = namespace_of(key)
    policy = _policy(namespace)
    if not can_read_namespace(user, namespace, policy) or not can_write_namespace(user, namespace, policy):
        raise PermissionDenied(f"You may not change metadata in the namespace {namespace!r}.")


@transaction.atomic
def metadata_set(*, account: Account, key: str, value: str, actor: Actor, user=None) -> tuple[Metadata, bool]:
    """Create or replace one entry; returns (entry, created). Enforces the namespace policy for `user`."""
    validate_key(key)
    if not isinstance(value, str):
        raise ValidationError({"value": "A metadata value is a string."})
    validate_value(value)
    _require_write(user, key)
    when = dates.now()
    entry = Metadata.objects.select_for_update().filter(account=account, key=key).first()
    created = entry is None
    if created:
        entry = Metadata(account=account, key=key, created_by=actor.username, created_date=when)
    entry.value = value
    entry.last_updated_by = actor.username
    entry.last_updated_date = when
    entry.save()
    return entry, created


@transaction.atomic
def metadata_delete(*, account: Account, key: str, actor: Actor, user=None) -> None:
    """Delete one entry; Metadata.DoesNotExist if absent. Enforces the namespace policy for `user`."""
    validate_key(key)
    _require_write(user, key)
    entry = Metadata.objects.select_for_update().get(account=account, key=key)
    entry.delete()
