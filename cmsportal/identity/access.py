"""The one place that decides which accounts a user may see, and who a user is in history rows.

Pages, the API, search and export all start from `visible_accounts(user)`; anything under an
account (contacts, metadata, history) is reached through it, so an account outside a caller's view
is indistinguishable from one that does not exist.
"""

from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import Account, UserType

VIEW_ALL_PERMISSION = "identity.view_all_accounts"


def can_view_all(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(VIEW_ALL_PERMISSION))


def granted_tenants(user) -> QuerySet:
    from cmsportal.identity.models import TenantGrant

    return TenantGrant.objects.filter(user=user).values("tenant_id")


def visible_accounts(user, queryset: QuerySet | None = None) -> QuerySet:
    """The accounts `user` may see: all for holders of the global view permission, else the granted tenants'."""
    qs = Account.objects.all() if queryset is None else queryset
    if not (user and user.is_authenticated and user.is_active):
        return qs.none()
    if can_view_all(user):
        return qs
    return qs.filter(tenant_id__in=granted_tenants(user))


@dataclass(frozen=True)
class Actor:
    """Who made a change, as history rows record it: a username and a user type."""

    username: str
    type: str = UserType.RACKER

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        return cls(username=name, type=UserType.SYSTEM)


def actor_for(user) -> Actor:
    """Staff (global viewers or Django staff) act as RACKER; tenant users as CUSTOMER."""
    if user.is_staff or can_view_all(user):
        return Actor(user.get_username(), UserType.RACKER)
    return Actor(user.get_username(), UserType.CUSTOMER)
