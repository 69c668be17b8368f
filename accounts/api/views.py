"""The accounts of the CMS API: the list, one account, and its three trails.

Every query starts from `visible_accounts(request.user)`: an account outside the caller's view is
404 exactly like a missing one, and so is everything under it (AccountResourceMixin, also used by
the contacts and metadata views).
"""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from cmsportal.api import conditional, schema
from cmsportal.api.filtering import apply_filterset
from cmsportal.api.pagination import DEFAULT_LIMIT, AccountPagination, OffsetPagination, PrecompiledPages
from cmsportal.api.precompiled import PrecompiledQuery
from cmsportal.api.views import CMSView
from cmsportal.identity.access import can_view_all, visible_account, visible_accounts

from ..filtersets import AccountFilterSet, list_key_columns
from ..models import Account, AccountChangeType, AccountHistory, AccountType, RCNChange, StatusChange
from ..representations import (
    ACCOUNT,
    account_history_to_dict,
    account_to_dict,
    rcn_change_to_dict,
    status_change_to_dict,
)
from ..services import account_version
from . import serializers as s

__all__ = [
    "ACCOUNT_FILTERS",
    "ACCOUNT_PATH",
    "AccountResourceMixin",
    "AccountListView",
    "AccountDetailView",
    "AccountTrailView",
    "TRAIL_PARAMETERS",
    "StatusHistoryView",
    "StatusHistorySingularView",
    "CustomerHistoryView",
    "AccountHistoryView",
    "first_trail_page",
]

ACCOUNT_FILTERS = ("accountType", "domain", "metadataKey", "metadataValue")

# `{accountType}/{accountId}` of every path under an account (contacts and metadata too).
_ACCOUNT_ID = ACCOUNT.field("id")
ACCOUNT_PATH = [
    OpenApiParameter(
        "accountType",
        str,
        OpenApiParameter.PATH,
        enum=AccountType.values,
        description="Account type (matched case-insensitively).",
    ),
    OpenApiParameter(
        "accountId",
        {"type": "string", "minLength": _ACCOUNT_ID.min_length, "maxLength": _ACCOUNT_ID.max_length},
        OpenApiParameter.PATH,
        description="Account id, unique within its type.",
    ),
]


class AccountResourceMixin:
    """Resolves `{accountType}/{accountId}` of the path among the caller's visible accounts."""

    def get_account(self) -> Account:
        if not hasattr(self, "_account"):
            account_type = self.kwargs["accountType"].upper()
            account_id = self.kwargs["accountId"]
            account = None
            if account_type in AccountType.values:
                account = visible_account(self.request.user, account_type, account_id)
            if account is None:
                raise NotFound(f"No customer account {account_type}/{account_id}.")
            self._account = account
        return self._account


ACCOUNT_PAGINATION = AccountPagination(filters=ACCOUNT_FILTERS)
# The account list's default pages for callers who see every account (see PrecompiledPages).
_ALL_ACCOUNT_PAGES = PrecompiledPages(
    ACCOUNT_PAGINATION,
    lambda: Account.objects.select_related("customer"),
    Account,
    related=["customer"],
)


class AccountListView(CMSView):
    xml_shape = s.ACCOUNTS
    pagination = ACCOUNT_PAGINATION

    @extend_schema(
        operation_id="listCustomerAccounts",
        summary="List customer accounts",
        parameters=[
            OpenApiParameter(
                "accountType", str, enum=AccountType.values, description="Accounts of this type (400 if unknown)."
            ),
            OpenApiParameter("domain", str, description="Accounts with exactly this domain."),
            OpenApiParameter("metadataKey", str, description="Accounts having this metadata key (403 if unreadable)."),
            OpenApiParameter("metadataValue", str, description="...whose value is exactly this (needs metadataKey)."),
            schema.marker("First account to list, `TYPE:ID` (need not exist); `last` with direction=backward."),
            schema.LIMIT,
            schema.OFFSET,
            schema.DIRECTION,
        ],
        responses={200: s.AccountListSerializer, **schema.faults(400, 403)},
    )
    def get(self, request, **kwargs):
        every = visible_accounts(request.user).select_related("customer")
        accounts = apply_filterset(AccountFilterSet, request, ACCOUNT_FILTERS, every)
        # Unfiltered, for a caller who sees every account: the default pages are precompiled.
        precompiled = _ALL_ACCOUNT_PAGES if accounts is every and can_view_all(request.user) else None
        # The filter pins the list to one type (it has already rejected unknown ones): the keyset need only
        # compare account ids, which the (type, account_id) index answers from the marker on.
        types = [value for value in request.GET.getlist("accountType") if value != ""]
        fixed = (types[-1].strip().upper(),) if types else ()
        page = self.pagination.paginate(
            accounts, request, fixed=fixed, columns=list_key_columns(accounts), precompiled=precompiled
        )
        return Response({"customerAccount": [s.account_item(request, a) for a in page.items], "link": page.links})


class AccountDetailView(conditional.ConditionalMixin, AccountResourceMixin, CMSView):
    xml_shape = s.ACCOUNT

    @extend_schema(
        operation_id="getCustomerAccount",
        summary="Get one customer account",
        description="Conditional: ETag and Last-Modified; If-None-Match / If-Modified-Since answer 304.",
        parameters=[*ACCOUNT_PATH, *conditional.READ_PARAMETERS],
        responses={200: s.AccountSerializer, **conditional.NOT_MODIFIED, **schema.faults(412)},
    )
    def get(self, request, **kwargs):
        return Response(account_to_dict(self.get_account()))

    def version_of(self, data):
        # From the representation already built: no query, no second pass over the account.
        return account_version(self.get_account(), data)


_NO_ACCOUNT = -(2**31) + 17


def first_trail_page(model, newest_first: bool) -> PrecompiledQuery:
    """The default page of an account's trail (its first DEFAULT_LIMIT + 1 entries, in the trail's order), compiled
    once per connection (see PrecompiledQuery): a call without parameters compiles no query."""

    def build(account_id):
        trail = model.objects.filter(account_id=account_id)
        return (trail.newest_first() if newest_first else trail.oldest_first())[: DEFAULT_LIMIT + 1]

    return PrecompiledQuery(build, model, placeholders=[_NO_ACCOUNT])


class AccountTrailView(AccountResourceMixin, CMSView):
    """A trail of the account in the path, paged by limit/offset; subclasses name the trail (and may give its
    precompiled default page, `first_page`)."""

    item_key = ""
    filters = ()
    first_page: PrecompiledQuery | None = None

    def get_trail(self, account):
        raise NotImplementedError

    def represent(self, entry) -> dict:
        raise NotImplementedError

    def get(self, request, **kwargs):
        account = self.get_account()
        if self.first_page is not None and not request.GET:
            page = OffsetPagination(self.filters).paginate(
                None, request, first_page=lambda: self.first_page.fetch(account.pk)
            )
        else:
            page = OffsetPagination(self.filters).paginate(self.get_trail(account), request)
        data = {self.item_key: [self.represent(entry) for entry in page.items]}
        if page.links:
            data["link"] = page.links
        return Response(data)


TRAIL_PARAMETERS = [*ACCOUNT_PATH, schema.LIMIT, schema.OFFSET]


@extend_schema_view(
    get=extend_schema(
        operation_id="getCustomerAccountStatusHistory",
        summary="Status changes of an account, newest first",
        parameters=TRAIL_PARAMETERS,
        responses={200: s.StatusHistorySerializer, **schema.faults(400)},
    )
)
class StatusHistoryView(AccountTrailView):
    xml_shape = s.STATUS_CHANGES
    item_key = "statusChange"
    first_page = first_trail_page(StatusChange, newest_first=True)

    def get_trail(self, account):
        return account.status_changes.newest_first()

    def represent(self, entry):
        return status_change_to_dict(entry)


@extend_schema_view(
    get=extend_schema(
        operation_id="getCustomerAccountStatusHistorySingular",
        summary="Status changes of an account (the singular path the reference also prints)",
    )
)
class StatusHistorySingularView(StatusHistoryView):
    pass


@extend_schema_view(
    get=extend_schema(
        operation_id="getCustomerAccountCustomerHistory",
        summary="RCN changes of an account (its owners), oldest first",
        parameters=TRAIL_PARAMETERS,
        responses={200: s.CustomerHistorySerializer, **schema.faults(400)},
    )
)
class CustomerHistoryView(AccountTrailView):
    xml_shape = s.RCN_CHANGES
    item_key = "accountRCNChange"
    first_page = first_trail_page(RCNChange, newest_first=False)

    def get_trail(self, account):
        return account.rcn_changes.oldest_first()

    def represent(self, entry):
        return rcn_change_to_dict(entry)


@extend_schema_view(
    get=extend_schema(
        operation_id="getCustomerAccountHistory",
        summary="Account changes, oldest first",
        parameters=[
            *TRAIL_PARAMETERS,
            OpenApiParameter(
                "changeType",
                str,
                enum=AccountChangeType.values,
                description="Only changes of this type (400 if unknown).",
            ),
        ],
        responses={200: s.AccountHistorySerializer, **schema.faults(400)},
    )
)
class AccountHistoryView(AccountTrailView):
    xml_shape = s.ACCOUNT_HISTORY
    item_key = "customerAccountHistory"
    filters = ("changeType",)
    first_page = first_trail_page(AccountHistory, newest_first=False)

    def get_trail(self, account):
        history = account.history.oldest_first()
        change_type = self.request.GET.get("changeType", "").strip()
        if change_type:
            if change_type.upper() not in AccountChangeType.values:
                raise ValidationError(
                    {"changeType": f"Unknown changeType {change_type!r}; expected one of {AccountChangeType.values}."}
                )
            history = history.filter(change_type=change_type.upper())
        return history

    def represent(self, entry):
        return account_history_to_dict(entry)
