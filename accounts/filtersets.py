"""FilterSets of customers and accounts, used by both the staff list pages and the API.

Parameter names are the API's (`accountType`, `metadataKey`, ...), so a filter means the same in a
page URL and in an API call.
"""

import hashlib

import django_filters
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import MD5

from metadata.models import Metadata, namespace_of
from metadata.services import can_read_namespace

from .models import AccessPolicy, Account, AccountStatus, AccountType, CollectionsStatus, Customer


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
        entries = Metadata.objects.filter(account=OuterRef("pk"), key=key)
        if wanted not in (None, ""):
            # The md5 comparison lets PostgreSQL use the (key, md5(value)) index; the value one keeps it exact.
            digest = hashlib.md5(wanted.encode(), usedforsecurity=False).hexdigest()
            entries = entries.annotate(value_md5=MD5("value")).filter(value_md5=digest, value=wanted)
        return qs.filter(Exists(entries))

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
        return qs.filter(Exists(Account.objects.filter(customer=OuterRef("pk"), type=value)))
