"""FilterSet of metadata entries (staff pages and admin)."""

import django_filters

from .models import Metadata


class MetadataFilterSet(django_filters.FilterSet):
    key = django_filters.CharFilter(field_name="key", label="Key")
    namespace = django_filters.CharFilter(field_name="namespace", label="Namespace")
    value = django_filters.CharFilter(field_name="value", label="Value")

    class Meta:
        model = Metadata
        fields = []
