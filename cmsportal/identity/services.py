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

from cmsportal import dates
from cmsportal.api.precompiled import PrecompiledQuery
from cmsportal.identity.access import can_view_all, remember_view_all, view_all_exists
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

# How often `last_used` is written back: often enough to be useful, rarely enough that reads stay reads.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# Compared against when no API key matches, so that a miss costs what a hit costs.
_DUMMY_DIGEST = hashlib.sha256(b"cmsportal: no such key").hexdigest()


def digest(secret: str) -> str:
    """The stored form of a token or API key: its SHA-256 hex digest."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def token_lifetime() -> timedelta:
    return timedelta(seconds=settings.CMS_TOKEN_LIFETIME)


# Tokens


def token_issue(user, authenticated_by: list[str] | tuple[str, ...]) -> tuple[Token, str]:
    """Issue a token for `user`; returns the saved row and the token, which is not stored and cannot be shown again."""
    plaintext = secrets.token_urlsafe(32)
    issued = dates.now()
    token = Token.objects.create(
        user=user,
        key_hash=digest(plaintext),
        created=issued,
        expires=issued + token_lifetime(),
        authenticated_by=list(authenticated_by),
    )
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
    the user object for this request, so `can_view_all` asks nothing more). Nothing about a token is
    cached between requests: revocation and expiry take effect on the next call, in every worker.
    Records when the token was last used, at most once a minute.
    """
    if not plaintext or not isinstance(plaintext, str):
        return None
    found = _TOKEN_BY_HASH.fetch(digest(plaintext))
    token = found[0] if found else None
    moment = dates.now()
    if token is None or not token.is_valid_at(moment) or not token.user.is_active:
        return None
    remember_view_all(token.user, token.user_view_all)
    if token.last_used is None or moment - token.last_used >= LAST_USED_RESOLUTION:
        Token.objects.filter(pk=token.pk).update(last_used=moment)
        token.last_used = moment
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


def token_revoke(token: Token) -> Token:
    """Revoke `token` now; revoking a revoked token changes nothing."""
    if token.revoked_at is None:
        moment = dates.now()
        if Token.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=moment):
            token.revoked_at = moment
        else:  # revoked meanwhile: the first revocation stands, and this object says so
            token.refresh_from_db(fields=["revoked_at"])
    return token


def tokens_revoke_for_user(user) -> int:
    """Revoke every token of `user` that is not yet revoked (the password changed, or the user was deactivated).

    Returns how many were revoked. API keys are separate credentials and stay; an inactive user's keys
    earn nothing (apikey_check).
    """
    return Token.objects.filter(user_id=user.pk, revoked_at__isnull=True).update(revoked_at=dates.now())


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


def apikey_issue(user, name: str, *, instance: ApiKey | None = None) -> tuple[ApiKey, str]:
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


def apikey_revoke(key: ApiKey) -> ApiKey:
    """Revoke `key` now; revoking a revoked key changes nothing."""
    if key.revoked_at is None:
        moment = dates.now()
        if ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=moment):
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


def apikey_rename(*, key: ApiKey, name: str) -> ApiKey:
    """Rename `key` (what it is for); nothing else about a key changes once issued."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=key.pk)
        key.name = name
        key.full_clean()
        key.save(update_fields=["name"])
    return key


def apikey_delete(*, key: ApiKey) -> None:
    """Delete `key`: it can no longer be exchanged for tokens, and no trace of it is kept (revoke to keep one)."""
    with transaction.atomic():
        ApiKey.objects.filter(pk=key.pk).delete()


def token_delete(*, token: Token) -> None:
    """Delete `token` (it stops working at once, like a revoked one, and leaves no row behind)."""
    with transaction.atomic():
        Token.objects.filter(pk=token.pk).delete()


# Users, groups and tenant grants. A user's tokens end when the password changes or the user is deactivated
# (identity.signals, in the save's own transaction), whichever of these services or Django's own commands saves it.


def user_save(*, user, groups=None, permissions=None):
    """Create or change `user` (an unsaved or changed instance); `groups` / `permissions`, when given, replace the
    user's groups and direct permissions."""
    with transaction.atomic():
        user.save()
        if groups is not None:
            user.groups.set(groups)
        if permissions is not None:
            user.user_permissions.set(permissions)
    return user


def user_grant(*, user, groups=(), permissions=()):
    """Add groups and direct permissions to `user`, keeping those it has."""
    with transaction.atomic():
        user.groups.add(*groups)
        user.user_permissions.add(*permissions)
    return user


def user_password_set(*, user, password: str | None):
    """Set `user`'s password (None: no usable password); the user's tokens are revoked with it."""
    with transaction.atomic():
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save()
    return user


def user_delete(*, user) -> None:
    """Delete `user`, with their tokens, API keys, tenant grants and saved filters."""
    with transaction.atomic():
        get_user_model()._default_manager.filter(pk=user.pk).delete()


def group_save(*, group, permissions=None):
    """Create or rename `group` (an unsaved or changed instance); `permissions`, when given, replace its own."""
    with transaction.atomic():
        group.save()
        if permissions is not None:
            group.permissions.set(permissions)
    return group


def group_ensure(*, name: str):
    """The group called `name`, created if there is none."""
    return Group.objects.get_or_create(name=name)[0]


def group_delete(*, group) -> None:
    """Delete `group`: its members lose what it gave them (permissions, namespace access)."""
    with transaction.atomic():
        Group.objects.filter(pk=group.pk).delete()


def tenant_grant_save(*, grant: TenantGrant) -> TenantGrant:
    """Create or change a grant (an unsaved or changed instance); a duplicate is a ValidationError."""
    grant.full_clean()
    try:
        with transaction.atomic():  # full_clean's uniqueness check cannot see a concurrent creation
            grant.save()
    except IntegrityError:
        raise ValidationError(f"{grant.user} is granted {grant.tenant_id} already.") from None
    return grant


def tenant_grant_ensure(*, user, tenant_id: str) -> TenantGrant:
    """The grant of `tenant_id` to `user`, created if there is none."""
    return TenantGrant.objects.get_or_create(user=user, tenant_id=tenant_id)[0]


def tenant_grant_delete(*, grant: TenantGrant) -> None:
    """Withdraw a grant: the user no longer sees that tenant's accounts."""
    with transaction.atomic():
        TenantGrant.objects.filter(pk=grant.pk).delete()
