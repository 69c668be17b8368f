"""Every write of identity: tokens and API keys (issue, check, revoke), users, groups and tenant grants.

Secrets are random values from `secrets`, handed out once and stored only as SHA-256 hex digests. A
256-bit random secret needs no slow hash: nobody can guess one from its digest, and looking a digest
up through a unique index tells a timing observer nothing about any stored secret.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from cmsportal import dates, replicas
from cmsportal.api.precompiled import PrecompiledQuery
from cmsportal.changes.choices import Action, ObjectType
from cmsportal.changes.context import current_actor
from cmsportal.changes.services import change_record, change_record_update
from cmsportal.identity import tokencache
from cmsportal.identity.access import Actor, actor_for, can_view_all, remember_view_all, view_all_exists
from cmsportal.identity.models import ApiKey, TenantGrant, Token

__all__ = [
    "PASSWORD",
    "APIKEY",
    "LAST_USED_RESOLUTION",
    "digest",
    "token_lifetime",
    "token_issue",
    "token_lookup",
    "token_authenticate",
    "token_find",
    "token_revoke",
    "tokens_revoke_for_user",
    "can_revoke_token",
    "tokens_purge_expired",
    "apikey_issue",
    "can_issue_apikey",
    "apikey_revoke",
    "apikey_check",
    "password_check",
    "user_roles",
    "user_by_username",
    "apikey_rename",
    "apikey_delete",
    "token_delete",
    "user_save",
    "user_grant",
    "user_password_set",
    "user_delete",
    "group_save",
    "group_ensure",
    "group_delete",
    "tenant_grant_save",
    "tenant_grant_ensure",
    "tenant_grant_delete",
]

PASSWORD = "PASSWORD"  # noqa: S105 (how a token was earned, not a secret)
APIKEY = "APIKEY"
PASSWORD_CHANGED = "changed"  # noqa: S105 (what the change log says of a new password: never the password)

# How often `last_used` is written back: often enough to be useful, rarely enough that reads stay reads.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# Compared against when no API key matches, so that a miss costs what a hit costs.
_DUMMY_DIGEST = hashlib.sha256(b"cmsportal: no such key").hexdigest()


def digest(secret: str) -> str:
    """The stored form of a token or API key: its SHA-256 hex digest."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


# The change log's view of identity objects. Never a secret, a digest of one or a password hash: a token and
# an API key are named by their owner and row id, a password change is recorded as {"password": "changed"}.


def _token_key(token: Token) -> str:
    return f"{token.user.get_username()} {token.pk}"


def _apikey_key(key: ApiKey) -> str:
    return f"{key.user.get_username()} {key.pk}"


def _token_snapshot(token: Token) -> dict:
    return {
        "user": token.user.get_username(),
        "created": dates.format_date(token.created),
        "expires": dates.format_date(token.expires),
        "authenticatedBy": list(token.authenticated_by or ()),
        "revoked": dates.format_date(token.revoked_at),
    }


def _apikey_snapshot(key: ApiKey) -> dict:
    return {
        "user": key.user.get_username(),
        "name": key.name,
        "created": dates.format_date(key.created),
        "revoked": dates.format_date(key.revoked_at),
    }


def _permission_names(permissions) -> list[str]:
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in permissions.select_related("content_type"))


def _user_snapshot(user) -> dict:
    return {
        "username": user.get_username(),
        "firstName": user.first_name,
        "lastName": user.last_name,
        "email": user.email,
        "active": user.is_active,
        "staff": user.is_staff,
        "superuser": user.is_superuser,
        "groups": sorted(user.groups.values_list("name", flat=True)) if user.pk else [],
        "permissions": _permission_names(user.user_permissions.all()) if user.pk else [],
    }


def _group_snapshot(group) -> dict:
    return {"name": group.name, "permissions": _permission_names(group.permissions.all()) if group.pk else []}


def _grant_snapshot(grant: TenantGrant) -> dict:
    return {"user": grant.user.get_username(), "tenantId": grant.tenant_id}


def _grant_key(grant: TenantGrant) -> str:
    return f"{grant.user.get_username()} {grant.tenant_id}"


def _record(object_type, object_key, action, actor, before=None, after=None):
    if action == Action.UPDATE:
        return change_record_update(
            object_type=object_type, object_key=object_key, before=before, after=after, actor=actor
        )
    return change_record(
        object_type=object_type, object_key=object_key, action=action, before=before, after=after, actor=actor
    )


def token_lifetime() -> timedelta:
    return timedelta(seconds=settings.CMS_TOKEN_LIFETIME)


# Tokens


def token_issue(
    user, authenticated_by: list[str] | tuple[str, ...], *, actor: Actor | None = None
) -> tuple[Token, str]:
    """Issue a token for `user`; returns the saved row and the token, which is not stored and cannot be shown again."""
    plaintext = secrets.token_urlsafe(32)
    issued = dates.now()
    with transaction.atomic():
        token = Token.objects.create(
            user=user,
            key_hash=digest(plaintext),
            created=issued,
            expires=issued + token_lifetime(),
            authenticated_by=list(authenticated_by),
        )
        # At sign-in nobody is authenticated yet: the user the token is for is the one who asked for it.
        who = actor or current_actor(default=actor_for(user))
        _record(ObjectType.TOKEN, _token_key(token), Action.ISSUE, who, after=_token_snapshot(token))
    return token, plaintext


# The token, its user, and whether the user holds the global view permission: one query on every API call.
_TOKEN_BY_HASH = PrecompiledQuery(
    lambda key_hash: (
        Token.objects.annotate(user_view_all=view_all_exists("user_id")).filter(key_hash=key_hash).order_by()[:1]
    ),
    Token,
    placeholders=["\x00key-hash"],
    related=["user"],
    annotations=["user_view_all"],
)


def token_lookup(plaintext: str) -> Token | None:
    """The valid token `plaintext` names (with its user), or None if unknown, expired, revoked or its user inactive.

    One query: the token, its user and whether the user holds the global view permission (remembered on
    the user object for this request, so `can_view_all` asks nothing more). On PostgreSQL a worker
    remembers the valid tokens it found and asks nothing at all until something that could change them
    commits anywhere (cmsportal/identity/tokencache.py); revocation and expiry take effect on the next
    call, in every worker. Records when the token was last used, at most once a minute.
    """
    if not plaintext or not isinstance(plaintext, str):
        return None
    key_hash = digest(plaintext)
    moment = dates.now()
    if tokencache.enabled():
        token = tokencache.cache.get(key_hash)
        if token is None:
            generation = tokencache.cache.generation()
            # From the primary: a replica could still show a token as it was before a revocation.
            with replicas.reading_from_primary():
                token = _token_by_hash(key_hash, moment)
            if token is not None:
                tokencache.cache.put(key_hash, token, generation)
        elif not (token.is_valid_at(moment) and token.user.is_active):
            token = None  # expired since it was remembered
    else:
        token = _token_by_hash(key_hash, moment)
    if token is None:
        return None
    if token.last_used is None or moment - token.last_used >= LAST_USED_RESOLUTION:
        Token.objects.filter(pk=token.pk).update(last_used=moment)
        token.last_used = moment
        tokencache.cache.used(key_hash, moment)
    return token


def _token_by_hash(key_hash: str, moment) -> Token | None:
    found = _TOKEN_BY_HASH.fetch(key_hash)
    token = found[0] if found else None
    if token is None or not token.is_valid_at(moment) or not token.user.is_active:
        return None
    remember_view_all(token.user, token.user_view_all)
    return token


def token_authenticate(plaintext: str):
    """The user a valid token belongs to, or None (unknown, expired, revoked, or the user is inactive)."""
    token = token_lookup(plaintext)
    return token.user if token else None


def token_find(plaintext: str) -> Token | None:
    """The token `plaintext` names if it can still be used (not revoked, not expired), else None."""
    if not plaintext or not isinstance(plaintext, str):
        return None
    token = Token.objects.select_related("user").filter(key_hash=digest(plaintext)).first()
    if token is None or not token.is_valid_at(dates.now()):
        return None
    return token


def token_revoke(token: Token, *, actor: Actor | None = None) -> Token:
    """Revoke `token` now; revoking a revoked token changes nothing (and records nothing)."""
    if token.revoked_at is None:
        moment = dates.now()
        with transaction.atomic():
            if Token.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=moment):
                token.revoked_at = moment
                tokencache.forget()
                _record(
                    ObjectType.TOKEN,
                    _token_key(token),
                    Action.REVOKE,
                    actor,
                    before={"revoked": None},
                    after={"revoked": dates.format_date(moment)},
                )
            else:  # revoked meanwhile: the first revocation stands, and this object says so
                token.refresh_from_db(fields=["revoked_at"])
    return token


def tokens_revoke_for_user(user, *, actor: Actor | None = None) -> int:
    """Revoke every token of `user` that is not yet revoked (the password changed, or the user was deactivated).

    Returns how many were revoked, each recorded. API keys are separate credentials and stay; an inactive
    user's keys earn nothing (apikey_check).
    """
    moment = dates.now()
    with transaction.atomic():
        ids = list(
            Token.objects.select_for_update()
            .filter(user_id=user.pk, revoked_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        revoked = Token.objects.filter(pk__in=ids, revoked_at__isnull=True).update(revoked_at=moment)
        tokencache.forget()
        for pk in ids:
            _record(
                ObjectType.TOKEN,
                f"{user.get_username()} {pk}",
                Action.REVOKE,
                actor,
                before={"revoked": None},
                after={"revoked": dates.format_date(moment)},
            )
    return revoked


def can_revoke_token(user, token: Token) -> bool:
    """Anyone may revoke their own token; only staff may revoke someone else's."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return token.user_id == user.pk or user.is_staff


def tokens_purge_expired(older_than: timedelta = timedelta(0)) -> int:
    """Delete tokens that expired (or were revoked) more than `older_than` ago; returns how many."""
    cutoff = dates.now() - older_than
    deleted, _ = Token.objects.filter(expires__lte=cutoff).delete()
    revoked, _ = Token.objects.filter(revoked_at__lte=cutoff).delete()
    return deleted + revoked


# API keys


def apikey_issue(user, name: str, *, instance: ApiKey | None = None, actor: Actor | None = None) -> tuple[ApiKey, str]:
    """Issue an API key for `user`; returns the saved row and the key, which is not stored and cannot be shown again.

    `instance` lets a form save the unsaved row it built (the admin does); otherwise a new row is created.
    """
    key = instance if instance is not None else ApiKey()
    key.user = user
    key.name = name
    with transaction.atomic():
        # Hex, not URL-safe base64: a key (or its prefix) starting with "-" would read as an option on a command line.
        plaintext = secrets.token_hex(32)
        key.prefix = plaintext[: ApiKey.PREFIX_LENGTH]
        key.key_hash = digest(plaintext)
        key.created = dates.now()
        key.last_used = None
        key.revoked_at = None
        key.save()
        _record(ObjectType.API_KEY, _apikey_key(key), Action.ISSUE, actor, after=_apikey_snapshot(key))
    return key, plaintext


def can_issue_apikey(issuer, user) -> bool:
    """Whether `issuer` may issue an API key for `user`.

    A key lets its holder act as `user`, so only superusers issue keys for other members of staff or for
    superusers; anyone allowed to issue keys may issue them for themselves, and holders of the global view
    also for customers' users.
    """
    if not (issuer and issuer.is_active):
        return False
    if issuer.is_superuser or issuer.pk == user.pk:
        return True
    if not can_view_all(issuer):
        # A key for someone else would let a tenant-scoped issuer see whatever that user sees.
        return False
    return not (user.is_staff or user.is_superuser)


def apikey_revoke(key: ApiKey, *, actor: Actor | None = None) -> ApiKey:
    """Revoke `key` now; revoking a revoked key changes nothing (and records nothing)."""
    if key.revoked_at is None:
        moment = dates.now()
        with transaction.atomic():
            revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=moment)
            if revoked:
                _record(
                    ObjectType.API_KEY,
                    _apikey_key(key),
                    Action.REVOKE,
                    actor,
                    before={"revoked": None},
                    after={"revoked": dates.format_date(moment)},
                )
        if revoked:
            key.revoked_at = moment
        else:  # revoked meanwhile: the first revocation stands, and this object says so
            key.refresh_from_db(fields=["revoked_at"])
    return key


def apikey_check(username: str, plaintext: str):
    """The active user named `username` if `plaintext` is one of their unrevoked API keys, else None.

    One indexed query whatever the outcome, and one constant-time comparison of digests whether or not a
    key matched, so a wrong username and a wrong key cost the same.
    """
    if not isinstance(username, str) or not isinstance(plaintext, str) or not plaintext:
        return None
    supplied = digest(plaintext)
    key = ApiKey.objects.select_related("user").filter(key_hash=supplied, revoked_at__isnull=True).first()
    stored = key.key_hash if key is not None else _DUMMY_DIGEST
    owner = key.user.get_username() if key is not None else ""
    digest_ok = hmac.compare_digest(stored, supplied)
    owner_ok = hmac.compare_digest(owner.encode(), username.encode("utf-8", "surrogatepass"))
    if not (key is not None and digest_ok and owner_ok and key.user.is_active):
        return None
    moment = dates.now()
    if key.last_used is None or moment - key.last_used >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used=moment)
    return key.user


def password_check(request, username: str, password: str):
    """The active user these credentials name, or None.

    Django's ModelBackend runs the password hasher even for unknown users, so the time taken does not
    tell whether the username exists.
    """
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        return None
    return user


def user_roles(user) -> list[str]:
    """Role names shown in the identity response: `staff` or `customer`, then the user's groups."""
    roles = ["staff" if can_view_all(user) else "customer"]
    roles.extend(name for name in user.groups.order_by("name").values_list("name", flat=True) if name not in roles)
    return roles


def user_by_username(username: str):
    """The user with this username, or None."""
    User = get_user_model()
    return User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()


def apikey_rename(*, key: ApiKey, name: str, actor: Actor | None = None) -> ApiKey:
    """Rename `key` (what it is for); nothing else about a key changes once issued."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update(of=("self",)).select_related("user").get(pk=key.pk)
        before = _apikey_snapshot(key)
        key.name = name
        key.full_clean()
        key.save(update_fields=["name"])
        _record(ObjectType.API_KEY, _apikey_key(key), Action.UPDATE, actor, before=before, after=_apikey_snapshot(key))
    return key


def apikey_delete(*, key: ApiKey, actor: Actor | None = None) -> None:
    """Delete `key`: it can no longer be exchanged for tokens, and no trace of it is kept but its change record
    (revoke to keep the row)."""
    with transaction.atomic():
        stored = ApiKey.objects.select_for_update(of=("self",)).select_related("user").filter(pk=key.pk).first()
        if stored is not None:
            _record(ObjectType.API_KEY, _apikey_key(stored), Action.DELETE, actor, before=_apikey_snapshot(stored))
            stored.delete()


def token_delete(*, token: Token, actor: Actor | None = None) -> None:
    """Delete `token` (it stops working at once, like a revoked one, and leaves no row behind)."""
    with transaction.atomic():
        stored = Token.objects.select_for_update(of=("self",)).select_related("user").filter(pk=token.pk).first()
        if stored is not None:
            _record(ObjectType.TOKEN, _token_key(stored), Action.DELETE, actor, before=_token_snapshot(stored))
            stored.delete()


# Users, groups and tenant grants. A user's tokens end when the password changes or the user is deactivated
# (identity.signals, in the save's own transaction), whichever of these services or Django's own commands saves it.


def _stored_user(user):
    """The user as stored (None when new): what a change to `user` is recorded against."""
    if user.pk is None:
        return None
    return get_user_model()._default_manager.filter(pk=user.pk).first()


def _log_user(user, before: dict | None, old_password: str | None, actor: Actor | None):
    after = _user_snapshot(user)
    if before is None:
        if user.password and user.has_usable_password():
            after["password"] = PASSWORD_CHANGED
        return _record(ObjectType.USER, user.get_username(), Action.CREATE, actor, after=after)
    if old_password != user.password:
        before, after = {**before, "password": None}, {**after, "password": PASSWORD_CHANGED}
    return _record(ObjectType.USER, user.get_username(), Action.UPDATE, actor, before=before, after=after)


def user_save(*, user, groups=None, permissions=None, actor: Actor | None = None):
    """Create or change `user` (an unsaved or changed instance); `groups` / `permissions`, when given, replace the
    user's groups and direct permissions."""
    with transaction.atomic():
        stored = _stored_user(user)
        before = _user_snapshot(stored) if stored is not None else None
        user.save()
        if groups is not None:
            user.groups.set(groups)
        if permissions is not None:
            user.user_permissions.set(permissions)
        _log_user(user, before, stored.password if stored is not None else None, actor)
    return user


def user_grant(*, user, groups=(), permissions=(), actor: Actor | None = None):
    """Add groups and direct permissions to `user`, keeping those it has."""
    with transaction.atomic():
        before = _user_snapshot(user)
        user.groups.add(*groups)
        user.user_permissions.add(*permissions)
        _record(ObjectType.USER, user.get_username(), Action.UPDATE, actor, before=before, after=_user_snapshot(user))
    return user


def user_password_set(*, user, password: str | None, actor: Actor | None = None):
    """Set `user`'s password (None: no usable password); the user's tokens are revoked with it. Recorded as
    {"password": "changed"}: never the password or its hash."""
    with transaction.atomic():
        stored = _stored_user(user)
        before = _user_snapshot(stored) if stored is not None else None
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save()
        _log_user(user, before, None, actor)
    return user


def user_delete(*, user, actor: Actor | None = None) -> None:
    """Delete `user`, with their tokens, API keys, tenant grants and saved filters."""
    with transaction.atomic():
        stored = _stored_user(user)
        if stored is not None:
            _record(ObjectType.USER, stored.get_username(), Action.DELETE, actor, before=_user_snapshot(stored))
            stored.delete()


def group_save(*, group, permissions=None, actor: Actor | None = None):
    """Create or rename `group` (an unsaved or changed instance); `permissions`, when given, replace its own."""
    with transaction.atomic():
        stored = Group.objects.filter(pk=group.pk).first() if group.pk else None
        before = _group_snapshot(stored) if stored is not None else None
        group.save()
        if permissions is not None:
            group.permissions.set(permissions)
        if before is None:
            _record(ObjectType.GROUP, group.name, Action.CREATE, actor, after=_group_snapshot(group))
        else:
            _record(ObjectType.GROUP, group.name, Action.UPDATE, actor, before=before, after=_group_snapshot(group))
    return group


def group_ensure(*, name: str, actor: Actor | None = None):
    """The group called `name`, created (and recorded) if there is none."""
    with transaction.atomic():
        group, created = Group.objects.get_or_create(name=name)
        if created:
            _record(ObjectType.GROUP, group.name, Action.CREATE, actor, after=_group_snapshot(group))
    return group


def group_delete(*, group, actor: Actor | None = None) -> None:
    """Delete `group`: its members lose what it gave them (permissions, namespace access)."""
    with transaction.atomic():
        stored = Group.objects.filter(pk=group.pk).first()
        if stored is not None:
            _record(ObjectType.GROUP, stored.name, Action.DELETE, actor, before=_group_snapshot(stored))
            stored.delete()


def tenant_grant_save(*, grant: TenantGrant, actor: Actor | None = None) -> TenantGrant:
    """Create or change a grant (an unsaved or changed instance); a duplicate is a ValidationError."""
    grant.full_clean()
    try:
        with transaction.atomic():  # full_clean's uniqueness check cannot see a concurrent creation
            stored = TenantGrant.objects.select_related("user").filter(pk=grant.pk).first() if grant.pk else None
            grant.save()
            if stored is None:
                _record(ObjectType.TENANT_GRANT, _grant_key(grant), Action.CREATE, actor, after=_grant_snapshot(grant))
            else:
                before = _grant_snapshot(stored)
                _record(
                    ObjectType.TENANT_GRANT,
                    _grant_key(grant),
                    Action.UPDATE,
                    actor,
                    before=before,
                    after=_grant_snapshot(grant),
                )
    except IntegrityError:
        raise ValidationError(f"{grant.user} is granted {grant.tenant_id} already.") from None
    return grant


def tenant_grant_ensure(*, user, tenant_id: str, actor: Actor | None = None) -> TenantGrant:
    """The grant of `tenant_id` to `user`, created (and recorded) if there is none."""
    with transaction.atomic():
        grant, created = TenantGrant.objects.get_or_create(user=user, tenant_id=tenant_id)
        if created:
            _record(ObjectType.TENANT_GRANT, _grant_key(grant), Action.CREATE, actor, after=_grant_snapshot(grant))
    return grant


def tenant_grant_delete(*, grant: TenantGrant, actor: Actor | None = None) -> None:
    """Withdraw a grant: the user no longer sees that tenant's accounts."""
    with transaction.atomic():
        stored = TenantGrant.objects.select_related("user").filter(pk=grant.pk).first()
        if stored is not None:
            _record(ObjectType.TENANT_GRANT, _grant_key(stored), Action.DELETE, actor, before=_grant_snapshot(stored))
            stored.delete()
