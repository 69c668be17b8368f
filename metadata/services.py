"""Metadata writes (set, delete), the namespace policy they enforce, and that policy's own writes.

Policy: a namespace without a Namespace row is open. Open: anyone who may see the account reads
and writes. Write-restricted: everyone reads; only the namespace's writers write. Read-restricted:
only readers and writers see it; only writers write. Superusers may do everything; `user=None`
means the system itself (management commands, import) and bypasses the policy.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from accounts.models import Account
from cmsportal import dates, versions
from cmsportal.changes.choices import Action, ObjectType
from cmsportal.changes.services import change_record, change_record_update
from cmsportal.identity.access import Actor
from cmsportal.resources import snapshot
from cmsportal.versions import Expectation, Version

from .choices import Access
from .models import Metadata, Namespace, namespace_of, validate_key, validate_value
from .representations import metadata_detail_to_dict

__all__ = [
    "can_read_namespace",
    "can_write_namespace",
    "unreadable_namespaces",
    "unreadable_namespaces_of",
    "readable_metadata",
    "CREATE_ATTEMPTS",
    "metadata_version",
    "metadata_set",
    "metadata_delete",
    "namespace_save",
    "namespace_delete",
]


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
    if not user.is_authenticated:
        return list(Namespace.objects.filter(access=Access.READ_RESTRICTED).values_list("name", flat=True))
    return list(unreadable_namespaces_of(user.pk).values_list("name", flat=True))


def unreadable_namespaces_of(user_id) -> QuerySet:
    """The read-restricted namespaces none of the groups of the (authenticated, not superuser) user with this
    id reads or writes: a queryset, to use as a subquery or to precompile with the id as its parameter."""
    restricted = Namespace.objects.filter(access=Access.READ_RESTRICTED)
    # Subqueries, not a UNION: SQLite refuses the ORDER BY that Namespace's default ordering adds to each part.
    group_ids = get_user_model().groups.through.objects.filter(user_id=user_id).values("group_id")
    readable = restricted.filter(Q(readers__in=group_ids) | Q(writers__in=group_ids)).values("pk")
    return restricted.exclude(pk__in=readable)


def readable_metadata(account: Account, user, hidden=None):
    """The account's metadata that `user` may read (`hidden`: the user's unreadable namespaces, when the
    caller has read them already)."""
    hidden = unreadable_namespaces(user) if hidden is None else hidden
    return Metadata.objects.filter(account=account).exclude(namespace__in=hidden)


def _require_write(user, key: str) -> None:
    namespace = namespace_of(key)
    policy = _policy(namespace)
    if not can_read_namespace(user, namespace, policy) or not can_write_namespace(user, namespace, policy):
        raise PermissionDenied(f"You may not change metadata in the namespace {namespace!r}.")


# How often a write that lost the race to create an entry starts over (each loss means someone else created it).
CREATE_ATTEMPTS = 3


def metadata_version(entry: Metadata | None, data: dict | None = None) -> Version | None:
    """The entry's version (validators of the API, the staff forms' hidden version); None for no entry.

    `data`: the entry's detail representation when the caller has it already.
    """
    if entry is None:
        return None
    data = data if data is not None else metadata_detail_to_dict(entry)
    return Version(versions.digest(data), entry.last_updated_date, entry.last_updated_by)


def _log_entry(account: Account, key: str, action: str, actor: Actor, before=None, after=None):
    """The change record of one entry: key "TYPE/ID namespace:name", its namespace set so that a reader
    who may not read the namespace sees the values redacted."""
    fields = {
        "object_type": ObjectType.METADATA,
        "object_key": f"{account.key} {key}",
        "rcn": account.customer.rcn,
        "account_key": account.key,
        "namespace": namespace_of(key),
        "actor": actor,
    }
    if action == Action.UPDATE:
        return change_record_update(before=before, after=after, **fields)
    return change_record(action=action, before=before, after=after, **fields)


def _log_namespace(namespace: Namespace, action: str, actor: Actor | None, before=None, after=None):
    fields = {"object_type": ObjectType.NAMESPACE, "object_key": namespace.name, "actor": actor}
    if action == Action.UPDATE:
        return change_record_update(before=before, after=after, **fields)
    return change_record(action=action, before=before, after=after, **fields)


def _locked_entry(account: Account, key: str) -> Metadata | None:
    return Metadata.objects.select_for_update().filter(account=account, key=key).first()


@transaction.atomic
def metadata_set(
    *,
    account: Account,
    key: str,
    value: str,
    actor: Actor,
    user=None,
    expected_version: str | Expectation | None = None,
) -> tuple[Metadata, bool]:
    """Create or replace one entry; returns (entry, created). Enforces the namespace policy for `user`.

    Safe against concurrent writers of the same key: the first to commit creates the entry (its
    createdBy/createdDate stay), every later one replaces it under its row lock, so lastUpdated*
    name the last. `expected_version` (a staff form's version, "" for "not there yet", or the
    request's preconditions) is checked under that lock: versions.StaleVersion if it no longer holds.
    """
    validate_key(key)
    if not isinstance(value, str):
        raise ValidationError({"value": "A metadata value is a string."})
    validate_value(value)
    _require_write(user, key)
    for attempt in range(CREATE_ATTEMPTS):
        entry = _locked_entry(account, key)
        versions.check(expected_version, metadata_version(entry))
        # After the lock: the last writer to commit writes the latest time.
        when = dates.now()
        if entry is not None:
            before = snapshot(entry)
            entry.value = value
            entry.last_updated_by = actor.username
            entry.last_updated_date = when
            entry.save(update_fields=["value", "last_updated_by", "last_updated_date"])
            _log_entry(account, key, Action.UPDATE, actor, before=before, after=snapshot(entry))
            return entry, False
        entry = Metadata(
            account=account,
            key=key,
            value=value,
            created_by=actor.username,
            created_date=when,
            last_updated_by=actor.username,
            last_updated_date=when,
        )
        try:
            # A savepoint: a row lock cannot guard a row that does not exist yet, so a concurrent first write
            # shows up here as a unique-key conflict (PostgreSQL reports it once the other transaction commits).
            with transaction.atomic():
                entry.save(force_insert=True)
        except IntegrityError:
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            continue  # the entry exists now: replace it under its lock
        _log_entry(account, key, Action.CREATE, actor, after=snapshot(entry))
        return entry, True
    raise AssertionError("unreachable")


@transaction.atomic
def metadata_delete(
    *, account: Account, key: str, actor: Actor, user=None, expected_version: str | Expectation | None = None
) -> None:
    """Delete one entry; Metadata.DoesNotExist if absent. Enforces the namespace policy for `user`.

    `expected_version`: as for metadata_set, checked under the row lock (a missing entry fails any expectation
    that needs one, e.g. If-Match).
    """
    validate_key(key)
    _require_write(user, key)
    entry = _locked_entry(account, key)
    if entry is None:
        wanted = versions.expectation(expected_version)
        if wanted is not None and wanted.needs_existing():
            raise versions.StaleVersion(None)
        raise Metadata.DoesNotExist(f"No metadata {key!r} on {account.key}.")
    versions.check(expected_version, metadata_version(entry))
    _log_entry(account, key, Action.DELETE, actor, before=snapshot(entry))
    entry.delete()


def namespace_save(*, namespace: Namespace, readers=None, writers=None, actor: Actor | None = None) -> Namespace:
    """Create or change a namespace's policy (an unsaved or changed instance); `readers` / `writers`, when
    given, replace its groups. A taken name is a ValidationError. Recorded as made by `actor`, else the
    context's actor."""
    namespace.full_clean()
    try:
        with transaction.atomic():  # full_clean's uniqueness check cannot see a concurrent creation
            stored = Namespace.objects.filter(pk=namespace.pk).first() if namespace.pk else None
            before = snapshot(stored) if stored is not None else None
            namespace.save()
            if readers is not None:
                namespace.readers.set(readers)
            if writers is not None:
                namespace.writers.set(writers)
            if before is None:
                _log_namespace(namespace, Action.CREATE, actor, after=snapshot(namespace))
            else:
                _log_namespace(namespace, Action.UPDATE, actor, before=before, after=snapshot(namespace))
    except IntegrityError:
        raise ValidationError({"name": f"A namespace {namespace.name!r} exists already."}) from None
    return namespace


@transaction.atomic
def namespace_delete(*, namespace: Namespace, actor: Actor | None = None) -> None:
    """Delete a namespace's policy: its metadata becomes open (readable and writable by whoever sees the account)."""
    stored = Namespace.objects.filter(pk=namespace.pk).first()
    if stored is None:
        return
    _log_namespace(stored, Action.DELETE, actor, before=snapshot(stored))
    stored.delete()
