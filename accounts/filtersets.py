"""FilterSets of customers and accounts, used by both the staff list pages and the API.

Every filter is computed over what the request's user may see (`visible_accounts`): a filter that looks
at other rows (a customer's accounts) looks only at visible ones, so a hidden account never makes a row
match.

Parameter names are the API's (`accountType`, `metadataKey`, ...), so a filter means the same in a
page URL and in an API call.
"""

import hashlib

import django_filters
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import MD5

from cmsportal.identity.access import visible_accounts
from metadata.models import namespace_of
from metadata.services import can_read_namespace

from .choices import AccessPolicy, AccountStatus, AccountType, CollectionsStatus
from .models import Account, Customer

__all__ = [
    "LIST_KEY",
    "METADATA_LIST_KEY",
    "list_key_columns",
    "order_columns",
    "CaseInsensitiveChoiceFilter",
    "AccountFilterSet",
    "CustomerFilterSet",
]

# The order of account lists: the list key.
LIST_KEY = ("type", "account_id")
# Under a metadata filter, the same key as copied on the joined metadata entry (aliases of the filtered queryset).
METADATA_LIST_KEY = ("metadata_account_type", "metadata_account_ident")


def list_key_columns(queryset) -> tuple[str, str]:
    """What to order and compare `queryset` (accounts, as AccountFilterSet left it) by for the list key order.

    Under a metadata filter, the joined entry's copy of the key: PostgreSQL then reads a page as one range of the
    metadata index from the marker on, instead of walking the accounts in key order and probing each one's
    metadata. The values are the account's own, so the order and every position are the same.
    """
    return METADATA_LIST_KEY if METADATA_LIST_KEY[0] in queryset.query.annotations else LIST_KEY


def order_columns(queryset, fields: tuple[str, ...]) -> tuple[str, ...]:
    """`fields` (a sort key of the account list) as `queryset` is best ordered and compared by."""
    return list_key_columns(queryset) if tuple(fields) == LIST_KEY else tuple(fields)


class CaseInsensitiveChoiceFilter(django_filters.CharFilter):
    """Exact match on a choice field; the value is upper-cased first; an unknown value is invalid."""

    def __init__(self, *args, choices, param, **kwargs):
        self.valid = {value.upper() for value in choices.values}
        self.param = param
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        value = value.strip().upper()
        if value not in self.valid:
            raise ValidationError({self.param: f"Unknown value {value!r}; expected one of {sorted(self.valid)}."})
        return super().filter(qs, value)


class AccountFilterSet(django_filters.FilterSet):
    accountType = CaseInsensitiveChoiceFilter(field_name="type", choices=AccountType, param="accountType", label="Type")
    domain = django_filters.CharFilter(field_name="domain", label="Domain")
    tenantId = django_filters.CharFilter(field_name="tenant_id", label="Tenant id")
    rcn = django_filters.CharFilter(field_name="customer__rcn", label="RCN")
    status = django_filters.ChoiceFilter(field_name="status", choices=AccountStatus.choices, label="Status")
    collectionsStatus = django_filters.ChoiceFilter(
        field_name="collections_status", choices=CollectionsStatus.choices, label="Collections status"
    )
    accessPolicy = django_filters.ChoiceFilter(
        field_name="access_policy", choices=AccessPolicy.choices, label="Access policy"
    )
    serviceLevel = django_filters.CharFilter(field_name="service_level", label="Service level")
    metadataKey = django_filters.CharFilter(method="filter_metadata", label="Metadata key")
    metadataValue = django_filters.CharFilter(method="filter_metadata", label="Metadata value")
    q = django_filters.CharFilter(method="filter_q", label="Name, nickname or id contains")

    class Meta:
        model = Account
        fields = []

    def filter_metadata(self, qs, name, value):
        # Both parameters are handled together, once, when metadataKey is seen.
        data = self.form.cleaned_data
        key, wanted = data.get("metadataKey"), data.get("metadataValue")
        if name == "metadataValue":
            if wanted and not key:
                raise ValidationError({"metadataValue": "metadataValue needs metadataKey."})
            return qs
        if not key:
            return qs
        user = getattr(self.request, "user", None)
        if not can_read_namespace(user, namespace_of(key)):
            raise PermissionDenied(f"You may not read metadata in the namespace {namespace_of(key)!r}.")
        # A join, not EXISTS: an account has at most one entry per key, and the entry carries the account's list
        # key, which the list is then ordered by (list_key_columns): one range of (key, account_type, account_ident)
        # or (key, md5(value), account_type, account_ident) from the marker on. One filter() call, one join; the
        # aliases (defined without a filter) refer to that join.
        matching = {"metadata__key": key}
        if wanted not in (None, ""):
            matching["metadata__value"] = wanted
        qs = qs.filter(**matching).alias(
            **{
                METADATA_LIST_KEY[0]: F("metadata__account_type"),
                METADATA_LIST_KEY[1]: F("metadata__account_ident"),
            }
        )
        if wanted not in (None, ""):
            # The md5 comparison lets PostgreSQL use the md5(value) index; the value one keeps it exact.
            digest = hashlib.md5(wanted.encode(), usedforsecurity=False).hexdigest()
            qs = qs.alias(metadata_value_md5=MD5("metadata__value")).filter(metadata_value_md5=digest)
        account_type = (data.get("accountType") or "").strip().upper()
        if account_type in AccountType.values:
            # accountType pins the account's type; pinning the copy too bounds the index range to that type.
            qs = qs.filter(**{METADATA_LIST_KEY[0]: account_type})
        return qs

    def filter_q(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        return qs.filter(Q(name__icontains=value) | Q(nickname__icontains=value) | Q(account_id__iexact=value))


class CustomerFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="RCN or name contains")
    accountType = CaseInsensitiveChoiceFilter(
        method="filter_account_type", choices=AccountType, param="accountType", label="Has account of type"
    )

    class Meta:
        model = Customer
        fields = []

    def filter_q(self, qs, name, value):
        value = value.strip()
        return qs.filter(Q(rcn__icontains=value) | Q(name__icontains=value)) if value else qs

    def filter_account_type(self, qs, name, value):
        # Over the accounts the user may see only: a customer's hidden accounts must not make it match.
        accounts = visible_accounts(getattr(self.request, "user", None))
        return qs.filter(Exists(accounts.filter(customer=OuterRef("pk"), type=value)))
