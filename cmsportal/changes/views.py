"""The global change log page and its CSV: every change the user may see, filtered, newest first."""

from django.contrib.auth.decorators import login_required
from django.views.decorators.http import require_safe

from cmsportal import pages

from .access import Redactor, visible_changes
from .filtersets import ChangeFilterSet
from .pages import change_rows
from .shapes import CSV_HEADER, change_csv_row

__all__ = ["CHANGE_SORTS", "change_export", "change_list"]

# Newest first by default (`-id`); `id` is oldest first. The id is the primary key: every page is an index range.
CHANGE_SORTS = {"id": pages.SortKey("When", ("id",))}
DEFAULT_SORT = "-id"


def _change_filter(request):
    filterset = ChangeFilterSet(request.GET, queryset=visible_changes(request.user), request=request)
    fields = filterset.form.fields
    for name in ("objectType", "action"):
        fields[name].empty_label = "Any"
    for name, hint in (("since", "2026-01-31"), ("until", "2026-02-01T12:00Z"), ("q", "part of a key")):
        fields[name].widget.attrs["placeholder"] = hint
    filterset.form.label_suffix = ""
    return filterset


@login_required
@require_safe
def change_list(request):
    return pages.list_page(
        request,
        filterset=_change_filter(request),
        sort_keys=CHANGE_SORTS,
        default_sort=DEFAULT_SORT,
        template="changes/change_list.html",
        prepare=lambda rows: change_rows(request.user, rows),
    )


@login_required
@require_safe
def change_export(request):
    redactor = Redactor(request.user)
    return pages.list_export(
        request,
        filterset=_change_filter(request),
        sort_keys=CHANGE_SORTS,
        default_sort=DEFAULT_SORT,
        filename="changes.csv",
        header=CSV_HEADER,
        row_values=lambda change: change_csv_row(change, redactor),
    )
