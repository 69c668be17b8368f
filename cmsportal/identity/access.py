"""The one place that decides which accounts a user may see, and who a user is in history rows.

Pages, the API, search and export all start from `visible_accounts(user)`; anything under an
account (contacts, metadata, history) is reached through it, so an account outside a caller's view
is indistinguishable from one that does not exist.
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from accounts.choices import UserType
from accounts.models import Account
from cmsportal.api.precompiled import PrecompiledQuery

__all__ = [
    "VIEW_ALL_PERMISSION",
    "view_all_exists",
    "remember_view_all",
    "can_view_all",
    "granted_tenants",
    "visible_accounts",
    "visible_customers",
    "visible_contacts",
    "visible_links",
    "scope_related",
    "visible_account",
    "Actor",
    "actor_for",
]

VIEW_ALL_PERMISSION = "identity.view_all_accounts"


# Where `remember_view_all` leaves the answer on a user object, for the rest of the request.
_VIEW_ALL_ATTR = "_cms_holds_view_all"


def view_all_exists(user_ref: str = "pk") -> Exists:
    """An expression: does the user `user_ref` points at hold the global view permission, directly or by a group?

    Annotated onto the token lookup, so that authenticating an API call and deciding its scope is one
    query. Superusers hold every permission whatever this says; `can_view_all` adds that.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission

    app_label, codename = VIEW_ALL_PERMISSION.split(".")
    # Few joins on purpose: this runs (and is planned) on every API call.
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).values("pk")[:1]
    direct = get_user_model().user_permissions.through.objects.filter(
        user_id=OuterRef(user_ref), permission_id=Subquery(permission)
    )
    by_group = Group.permissions.through.objects.filter(
        permission_id=Subquery(permission),
        group_id__in=get_user_model()
        .groups.through.objects.filter(user_id=OuterRef(OuterRef(user_ref)))
        .values("group_id"),
    )
    return Exists(direct) | Exists(by_group)


def remember_view_all(user, holds_permission: bool) -> None:
    """Record on `user` (this request's object only) whether it holds the view permission (`view_all_exists`)."""
    setattr(user, _VIEW_ALL_ATTR, bool(holds_permission))


def can_view_all(user) -> bool:
    """Whether `user` sees every account: active, and a superuser or a holder of the global view permission.

    Uses the answer the authentication left on the user when there is one (API tokens), else asks the
    permission backend (sessions; Django caches that per user object too).
    """
    if not (user and user.is_authenticated and user.is_active):
        return False
    remembered = getattr(user, _VIEW_ALL_ATTR, None)
    if remembered is not None:
        return user.is_superuser or remembered
    return user.has_perm(VIEW_ALL_PERMISSION)


def granted_tenants(user) -> QuerySet:
    """The tenant ids granted to `user` (a user or a user's primary key), as a subquery."""
    from cmsportal.identity.models import TenantGrant

    return TenantGrant.objects.filter(user=user).values("tenant_id")


def _scoped(queryset: QuerySet, view_all: bool, user) -> QuerySet:
    return queryset if view_all else queryset.filter(tenant_id__in=granted_tenants(user))


def visible_accounts(user, queryset: QuerySet | None = None) -> QuerySet:
    """The accounts `user` may see: all for holders of the global view permission, else the granted tenants'."""
    qs = Account.objects.all() if queryset is None else queryset
    if not (user and user.is_authenticated and user.is_active):
        return qs.none()
    return _scoped(qs, can_view_all(user), user)


def visible_customers(user, queryset: QuerySet | None = None) -> QuerySet:
    """Customers `user` may see: all for global viewers, else those owning at least one visible account.

    A tenant-scoped user meets a customer only through its accounts: one that owns none of theirs (or none at
    all) does not exist for them.
    """
    from accounts.models import Customer

    qs = Customer.objects.all() if queryset is None else queryset
    if can_view_all(user):
        return qs
    return qs.filter(Exists(visible_accounts(user).filter(customer=OuterRef("pk"))))


def visible_contacts(user, queryset: QuerySet | None = None) -> QuerySet:
    """Contacts `user` may see: all for global viewers, else those on at least one visible account.

    What a visible contact holds on accounts outside the view (its roles and links there) stays out of sight:
    see `visible_links`.
    """
    from contacts.models import Contact

    qs = Contact.objects.all() if queryset is None else queryset
    if can_view_all(user):
        return qs
    return qs.filter(Exists(visible_links(user).filter(contact=OuterRef("pk"))))


def visible_links(user, queryset: QuerySet | None = None) -> QuerySet:
    """The places of contacts on accounts (AccountContact rows) `user` may see: those on visible accounts."""
    from contacts.models import AccountContact

    qs = AccountContact.objects.all() if queryset is None else queryset
    if can_view_all(user):
        return qs
    return qs.filter(account__in=visible_accounts(user))


def scope_related(model, user, queryset: QuerySet | None = None) -> QuerySet | None:
    """`queryset` (default: every row of `model`) cut to what `user` may see, when `model` is tenant data.

    None when `model` is not tenant data (users, groups, namespaces...). Admin form fields, autocompletes and
    list filters choose among the rows this returns.
    """
    from accounts.models import Customer
    from contacts.models import AccountContact, Contact

    scopes = {Account: visible_accounts, Customer: visible_customers, Contact: visible_contacts}
    scopes[AccountContact] = visible_links
    scope = scopes.get(model)
    return None if scope is None else scope(user, queryset)


# `visible_account` for each side of the tenant line, compiled once per connection (see PrecompiledQuery).
_NO_USER = -(2**31) + 7
_ACCOUNT_FOR_VIEWER = PrecompiledQuery(
    lambda account_type, account_id: Account.objects.filter(type=account_type, account_id=account_id).order_by()[:1],
    Account,
    placeholders=["\x00type", "\x00id"],
    related=["customer"],
)
_ACCOUNT_FOR_GRANTEE = PrecompiledQuery(
    lambda user_id, account_type, account_id: _scoped(
        Account.objects.filter(type=account_type, account_id=account_id), False, user_id
    ).order_by()[:1],
    Account,
    placeholders=[_NO_USER, "\x00type", "\x00id"],
    related=["customer"],
)


def visible_account(user, account_type: str, account_id: str) -> Account | None:
    """The account `TYPE/ID` with its customer loaded, if `user` may see it (as `visible_accounts` decides), else None.

    One query; the API resolves the account of every path under /customer_accounts/TYPE/ID with it.
    """
    if not (user and user.is_authenticated and user.is_active):
        return None
    if can_view_all(user):
        found = _ACCOUNT_FOR_VIEWER.fetch(account_type, account_id)
    else:
        found = _ACCOUNT_FOR_GRANTEE.fetch(user.pk, account_type, account_id)
    return found[0] if found else None


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
