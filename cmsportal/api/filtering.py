"""Applying the apps' FilterSets to API queries: only the parameters an operation documents count."""

from django.core.exceptions import ValidationError
from django.http import QueryDict

__all__ = ["apply_filterset"]


def apply_filterset(filterset_class, request, names, queryset, **kwargs):
    """`queryset` filtered by `filterset_class` with the request's parameters in `names` (others are ignored).

    Invalid values raise ValidationError (400); the FilterSets raise PermissionDenied (403) themselves.
    """
    data = QueryDict(mutable=True)
    for name in names:
        values = [value for value in request.GET.getlist(name) if value != ""]
        if values:
            data.setlist(name, values)
    if not data:
        # Every filter skips an empty value: the result is `queryset` itself, without building a FilterSet
        # (which deep-copies its filters) on the path most calls take.
        return queryset
    filterset = filterset_class(data, queryset=queryset, request=request, **kwargs)
    if not filterset.is_valid():
        raise ValidationError({field: list(errors) for field, errors in filterset.errors.items()})
    return filterset.qs
