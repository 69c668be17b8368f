"""FilterSet of metadata entries (staff pages and admin).

Only entries of accounts the request's user may see, in namespaces they may read, are ever matched.
"""

import django_filters

from cmsportal.identity.access import can_view_all, visible_accounts

from .models import Metadata
from .services import unreadable_namespaces

__all__ = ["MetadataFilterSet"]


class MetadataFilterSet(django_filters.FilterSet):
    key = django_filters.CharFilter(field_name="key", label="Key")
    namespace = django_filters.CharFilter(field_name="namespace", label="Namespace")
    value = django_filters.CharFilter(field_name="value", label="Value")

    class Meta:
        model = Metadata
        fields = []

    def filter_queryset(self, queryset):
        user = getattr(self.request, "user", None)
        queryset = queryset.exclude(namespace__in=unreadable_namespaces(user))
        if not can_view_all(user):
            queryset = queryset.filter(account__in=visible_accounts(user))
        return super().filter_queryset(queryset)
