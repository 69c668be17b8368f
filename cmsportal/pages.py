"""Shared machinery of the staff pages: what a user may see, keyset pagination, bounded counts, CSV export.

Every list page works the same way on a table of ten rows or ten million: it orders by a whitelisted
sort key backed by an index, pages by the key of the last row seen (never OFFSET), counts at most
COUNT_CAP + 1 rows, and streams CSV in keyset batches.
"""

import base64
import csv
import json
import logging
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection
from django.db.models import F, Q, QuerySet
from django.http import Http404, StreamingHttpResponse
from django.utils import timezone

from accounts.choices import RCNChangeType
from accounts.models import Account, Customer, RCNChange
from cmsportal import services
from cmsportal.api.pagination import row_compare

# What the pages (and search) see of customers and contacts is decided next to visible_accounts.
from cmsportal.identity.access import can_view_all, visible_accounts, visible_contacts, visible_customers  # noqa: F401
from cmsportal.models import RecentView
from cmsportal.versions import StaleVersion
from contacts.models import Contact

__all__ = [
    "PAGE_SIZE",
    "PAGE_SIZES",
    "COUNT_CAP",
    "CSV_BATCH",
    "RECENT_PER_KIND",
    "logger",
    "get_visible_or_404",
    "merged_into",
    "record_view",
    "recently_viewed",
    "SortKey",
    "encode_cursor",
    "decode_cursor",
    "keyset_values",
    "Page",
    "keyset_page",
    "iterate_keyset",
    "bounded_count",
    "apply_filterset",
    "is_filtered",
    "Chip",
    "filter_chips",
    "page_size",
    "page_position",
    "safe_cell",
    "csv_response",
    "VersionedForm",
    "stale_message",
    "SECTION_TAG",
    "section_message_tag",
    "run_action",
    "sort_from",
    "list_page",
    "list_export",
]

PAGE_SIZE = 50
# The page sizes a list offers (`?size=`); anything else is the default.
PAGE_SIZES = (25, 50, 100, 250)
COUNT_CAP = 1000
CSV_BATCH = 1000
RECENT_PER_KIND = services.RECENT_PER_KIND

logger = logging.getLogger(__name__)


def get_visible_or_404(queryset: QuerySet, **lookup):
    obj = queryset.filter(**lookup).first()
    if obj is None:
        raise Http404("Not found")
    return obj


def merged_into(user, rcn: str) -> str | None:
    """The RCN a merged-away customer was merged into, read from the MERGE rows of the accounts it owned."""
    owned = list(
        RCNChange.objects.filter(rcn=rcn, account__in=visible_accounts(user)).values_list("account_id", "id")[:50]
    )
    if not owned:
        return None
    merge = (
        RCNChange.objects.filter(
            change_type=RCNChangeType.MERGE, account_id__in={a for a, _ in owned}, id__gt=min(i for _, i in owned)
        )
        .exclude(rcn=rcn)
        .order_by("id")
        .first()
    )
    return merge.rcn if merge else None


# --- recently viewed ----------------------------------------------------------------------------

_RECENT_KINDS = {Customer: RecentView.Kind.CUSTOMER, Account: RecentView.Kind.ACCOUNT, Contact: RecentView.Kind.CONTACT}


def record_view(user, obj) -> None:
    """Remember that `user` opened `obj` (a customer, account or contact): services.recent_view_record.

    Navigation state, not a change to the record: no history, and a failure here never fails the page.
    """
    kind = _RECENT_KINDS[type(obj)]
    try:
        services.recent_view_record(user=user, kind=kind, object_id=obj.pk)
    except DatabaseError:
        # E.g. a database that is read-only for a while: the page is still worth showing.
        logger.warning("could not record that user %s viewed %s %s", user.pk, kind, obj.pk, exc_info=True)


def recently_viewed(user) -> dict[str, list]:
    """The records `user` opened lately, newest first, per kind ("customers", "accounts", "contacts").

    Read through the visibility gate: a record the user can no longer see (or that was deleted) is left out.
    """
    rows = list(RecentView.objects.filter(user=user).order_by("-viewed", "-id").values_list("kind", "object_id"))
    ids = {kind: [pk for k, pk in rows if k == kind][:RECENT_PER_KIND] for kind in RecentView.Kind.values}
    sources = {
        RecentView.Kind.CUSTOMER: ("customers", visible_customers(user)),
        RecentView.Kind.ACCOUNT: ("accounts", visible_accounts(user)),
        RecentView.Kind.CONTACT: ("contacts", visible_contacts(user)),
    }
    recent = {}
    for kind, (name, queryset) in sources.items():
        found = queryset.in_bulk(ids[kind]) if ids[kind] else {}
        recent[name] = [found[pk] for pk in ids[kind] if pk in found]
    return recent


# --- keyset pagination ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    """A whitelisted ordering: `fields` end with a unique column so every row has one position."""

    label: str
    fields: tuple[str, ...]
    nullable: frozenset = field(default_factory=frozenset)


def encode_cursor(values) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, width: int) -> list | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if not isinstance(values, list) or len(values) != width:
        return None
    if not all(v is None or isinstance(v, str | int) and not isinstance(v, bool) for v in values):
        return None
    return values


def _ordering(columns, up: bool):
    """`up` is ascending with NULLs last; its exact reverse is descending with NULLs first."""
    if up:
        return [F(name).asc(nulls_last=True) for name in columns]
    return [F(name).desc(nulls_first=True) for name in columns]


def _after(key: SortKey, values, up: bool, columns=None):
    """Rows strictly after `values` in the `up` (or reversed) order, as one lexicographic condition.

    `columns`: the names compared (default `key.fields`), holding the key's values in each row. A key of text
    without NULLs is one row comparison, which an index on the columns answers as a range from the cursor; a
    key with NULLs is spelled out field by field (ascending puts NULLs last, which no row comparison says).
    """
    columns = tuple(columns or key.fields)
    if not key.nullable and all(isinstance(value, str) for value in values):
        return row_compare(columns, ">" if up else "<", values)
    condition = Q(pk__in=[])
    equal = Q()
    for name, value in zip(columns, values, strict=True):
        if value is None:
            beyond = Q(pk__in=[]) if up else Q(**{f"{name}__isnull": False})
            same = Q(**{f"{name}__isnull": True})
        else:
            beyond = Q(**{f"{name}__gt": value}) if up else Q(**{f"{name}__lt": value})
            if up and name in key.nullable:
                beyond |= Q(**{f"{name}__isnull": True})
            same = Q(**{name: value})
        condition |= equal & beyond
        equal &= same
    return condition


def keyset_values(obj, key: SortKey) -> list:
    return [getattr(obj, name) for name in key.fields]


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    prev_cursor: str | None


def keyset_page(
    queryset: QuerySet, key: SortKey, descending: bool, after=None, before=None, size=PAGE_SIZE, columns=None
) -> Page:
    """One page of `queryset` in sort order, after (or before) the row whose key values a cursor holds.

    `columns`: what to order and compare by, when not `key.fields` (see `_after`); cursors hold `key.fields`.
    """
    up = not descending
    cursor = before if before is not None else after
    backwards = before is not None
    travel_up = up != backwards
    qs = queryset.order_by(*_ordering(columns or key.fields, travel_up))
    if cursor is not None:
        qs = qs.filter(_after(key, cursor, travel_up, columns))
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    first = encode_cursor(keyset_values(rows[0], key)) if rows else None
    last = encode_cursor(keyset_values(rows[-1], key)) if rows else None
    if backwards:
        return Page(rows, next_cursor=last, prev_cursor=first if more else None)
    return Page(rows, next_cursor=last if more else None, prev_cursor=first if cursor is not None else None)


def iterate_keyset(queryset: QuerySet, key: SortKey, descending: bool, batch=CSV_BATCH, columns=None):
    """Every row of `queryset` in sort order, fetched in keyset batches: constant memory on any size."""
    up = not descending
    ordered = queryset.order_by(*_ordering(columns or key.fields, up))
    cursor = None
    while True:
        qs = ordered if cursor is None else ordered.filter(_after(key, cursor, up, columns))
        rows = list(qs[:batch])
        yield from rows
        if len(rows) < batch:
            return
        cursor = keyset_values(rows[-1], key)


# --- counts --------------------------------------------------------------------------------------


def bounded_count(queryset: QuerySet, filtered: bool) -> str:
    """ "1,234" when exact (up to COUNT_CAP); beyond it "1,000+", or "about N" from the planner's estimate
    when the list is a whole table on PostgreSQL. Never counts more than COUNT_CAP + 1 rows."""
    count = queryset.order_by()[: COUNT_CAP + 1].count()
    if count <= COUNT_CAP:
        return f"{count:,}"
    if not filtered and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [queryset.model._meta.db_table])
            row = cursor.fetchone()
        if row and row[0] and row[0] > COUNT_CAP:
            return f"about {row[0]:,}"
    return f"{COUNT_CAP:,}+"


# --- filters -------------------------------------------------------------------------------------


def apply_filterset(filterset) -> tuple[QuerySet | None, list[str]]:
    """The filtered queryset, or None and the messages that explain why the filters were refused."""
    fields = filterset.form.fields

    def labelled(errors: dict) -> list[str]:
        return [
            f"{fields[name].label if name in fields else name}: {error}"
            for name, messages in errors.items()
            for error in messages
        ]

    if not filterset.is_valid():
        return None, labelled(filterset.errors)
    try:
        qs = filterset.qs
        # Filter methods raise lazily; evaluate the SQL now so errors surface here, not mid-template.
        str(qs.query)
    except ValidationError as exc:
        return None, labelled(exc.message_dict) if hasattr(exc, "error_dict") else list(exc.messages)
    except PermissionDenied as exc:
        return None, [str(exc) or "You may not filter on that."]
    return qs, []


def is_filtered(filterset) -> bool:
    return any(value not in (None, "") for value in filterset.form.cleaned_data.values())


@dataclass(frozen=True)
class Chip:
    """An active filter as the list shows it: what it is, and the list's URL without it."""

    label: str
    value: str
    remove_url: str


def filter_chips(request, filterset) -> list[Chip]:
    """One chip per filter the request applies, in the filter form's order (valid or not: each can be removed)."""
    chips = []
    for name, form_field in filterset.form.fields.items():
        raw = request.GET.get(name, "")
        if raw == "":
            continue
        choices = dict(getattr(form_field, "choices", None) or ())
        shown = choices.get(raw, raw)
        params = request.GET.copy()
        for drop in (name, "after", "before", "at"):
            params.pop(drop, None)
        encoded = params.urlencode()
        chips.append(Chip(str(form_field.label or name), str(shown), f"?{encoded}" if encoded else "?"))
    return chips


def _saved_filters(request, list_name):
    if list_name is None:
        return None
    from cmsportal.models import SavedFilter

    return list(SavedFilter.objects.filter(user=request.user, list_name=list_name))


def _query_without_paging(request) -> str:
    params = request.GET.copy()
    for name in ("after", "before", "at"):
        params.pop(name, None)
    return params.urlencode()


def page_size(request) -> int:
    """The page size asked for with `?size=`, if it is one of PAGE_SIZES; else PAGE_SIZE."""
    raw = request.GET.get("size", "")
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) in PAGE_SIZES else PAGE_SIZE


def page_position(request) -> int:
    """The 1-based position of the page's first row, carried in `?at=` by the pager's links (1 without a cursor)."""
    raw = request.GET.get("at", "")
    if not (request.GET.get("after") or request.GET.get("before")):
        return 1
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 10 and int(raw) > 0 else 1


# --- CSV -----------------------------------------------------------------------------------------


class _Echo:
    def write(self, value):
        return value


def safe_cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    text = str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def csv_response(filename: str, header: list[str], rows, row_values) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([safe_cell(v) for v in row_values(row)])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- actions -------------------------------------------------------------------------------------


class VersionedForm(forms.Form):
    """An edit form that carries the version of the record it was opened on (see cmsportal/versions.py).

    The service checks it under the record's row lock; a newer change is reported instead of overwritten.
    An empty version (a form posted without one) checks nothing, except where a view says otherwise.
    """

    version = forms.CharField(widget=forms.HiddenInput, required=False)


def stale_message(exc: StaleVersion, subject) -> str:

    current = exc.current
    if current is None:
        return f"{subject} was deleted after you opened this form: review it and submit again."
    when = timezone.localtime(current.last_modified).strftime("%Y-%m-%d %H:%M:%S %Z") if current.last_modified else ""
    by = f" by {current.changed_by}" if current.changed_by else ""
    at = f" at {when}" if when else ""
    return f"{subject} was changed{by}{at} after you opened it: review the current value and submit again."


def _renew_version(form, exc: StaleVersion) -> None:
    """Let the next submission of the form stand on the version the user has now been shown."""
    if "version" in form.fields:
        form.data = form.data.copy()
        form.data[form.add_prefix("version")] = exc.current.tag if exc.current is not None else ""


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


SECTION_TAG = "section-"


def section_message_tag(url: str) -> str:
    """The message tag naming the section a URL's fragment points at ("section-status"), or "" without one.

    The page renders such a message inside that section ({% section_messages "status" %}) instead of at the
    top; base.html shows, after the content, any that no section took, so none is ever lost.
    """
    fragment = url.partition("#")[2]
    return f"{SECTION_TAG}{fragment}" if fragment else ""


def run_action(
    request,
    *,
    form,
    title: str,
    subject,
    cancel_url: str,
    describe,
    perform,
    danger: bool = False,
    current=None,
    record=None,
    template: str = "action.html",
    check=None,
    facts=None,
):
    """The two-step flow of every staff action: form, confirmation page, then the service call.

    GET shows the form; a valid POST shows what will happen with a Confirm button (works without
    JavaScript); a POST with confirm=yes calls `perform(cleaned_data)`, which returns
    (success message, URL to go to). Validation errors of the service land in the form; a policy
    refusal becomes a message on the record's page. A change made by someone else since the form was
    opened (StaleVersion) is reported in the form (naming `record`, else `subject`), with `current()`
    (what the record holds now) when given, and the form then carries the new version: submitting again
    is a deliberate overwrite. `template` lays out a form that needs more than a column of fields (it
    extends action.html). `check(cleaned_data)` refuses, with a ValidationError, what the service would
    refuse anyway (a missing target, a change that changes nothing) on the first step, with the typed
    values kept, instead of after the confirmation. `facts`: (label, value) pairs of what the record holds
    now, shown above the form's fields.

    A URL that `perform` returns with a fragment (`page#status`) names the section of the page the change
    shows in: the success message is tagged with it and rendered in that section (see section_message_tag).
    """
    from django.contrib import messages
    from django.shortcuts import redirect, render

    context = {"form": form, "title": title, "subject": subject, "cancel_url": cancel_url, "danger": danger}
    context["facts"] = facts or []
    if request.method == "POST" and form.is_valid() and check is not None:
        try:
            check(form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
    if request.method == "POST" and form.is_valid():
        if request.POST.get("confirm") == "yes":
            try:
                message, url = perform(form.cleaned_data)
            except PermissionDenied as exc:
                messages.error(request, str(exc) or "You may not make this change.")
                return redirect(cancel_url)
            except StaleVersion as exc:
                form.add_error(None, stale_message(exc, record or subject))
                if current is not None:
                    form.add_error(None, current())
                _renew_version(form, exc)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, message, extra_tags=section_message_tag(url))
                return redirect(url)
        else:
            context["confirming"] = True
            context["changes"] = describe(form.cleaned_data)
    return render(request, template, context)


# --- list pages ----------------------------------------------------------------------------------


def sort_from(request, sort_keys: dict, default: str = "") -> tuple[str, bool]:
    """The requested whitelisted sort key and whether it is descending; `default` (e.g. "-id") or the first
    key ascending otherwise."""
    raw = request.GET.get("sort", "") or default
    descending = raw.startswith("-")
    name = raw.lstrip("-")
    if name not in sort_keys:
        return next(iter(sort_keys)), False
    return name, descending


def list_page(
    request,
    *,
    filterset,
    sort_keys: dict,
    template: str,
    extra=None,
    prepare=None,
    columns=None,
    list_name=None,
    default_sort="",
):
    """Render a browse list: filter form and chips, capped count, sortable columns, keyset pages of a chosen size.

    `list_name`: the list's URL name, to offer the person's saved filters of it (cmsportal.models.SavedFilter).
    `columns(queryset, fields)`: the names to order and compare the filtered queryset by for a sort key's
    `fields`, when the filters provide better ones (e.g. a copy of the key on a joined, indexed table).
    `default_sort`: the order without `?sort=` (as sort_from), e.g. "-id" for newest first.
    """
    from django.shortcuts import render

    sort, descending = sort_from(request, sort_keys, default_sort)
    key = sort_keys[sort]
    size = page_size(request)
    qs, errors = apply_filterset(filterset)
    context = {
        "filter": filterset,
        "errors": errors,
        "chips": filter_chips(request, filterset),
        "sort": sort,
        "descending": descending,
        "sort_keys": sort_keys,
        "sortable_labels": [k.label for k in sort_keys.values()],
        "size": size,
        "page_sizes": PAGE_SIZES,
        "saved_filters": _saved_filters(request, list_name),
        "saved_list": list_name,
        "current_query": _query_without_paging(request),
        "rows": [],
        "count": "0",
    }
    if qs is not None:
        after = decode_cursor(request.GET["after"], len(key.fields)) if request.GET.get("after") else None
        before = decode_cursor(request.GET["before"], len(key.fields)) if request.GET.get("before") else None
        names = columns(qs, key.fields) if columns else None
        try:
            page = keyset_page(qs, key, descending, after=after, before=before, size=size, columns=names)
        except (ValueError, TypeError, ValidationError):
            # A cursor whose values do not fit the columns was not made here: start from the top.
            page = keyset_page(qs, key, descending, size=size, columns=names)
        rows = page.rows
        if prepare:
            rows = prepare(rows)
        first = page_position(request) if page.prev_cursor else 1
        context.update(
            rows=rows,
            next_cursor=page.next_cursor,
            prev_cursor=page.prev_cursor,
            first_index=first if rows else 0,
            last_index=first + len(rows) - 1,
            next_at=first + len(rows),
            prev_at=max(1, first - size),
            # A tenant user's list is never the whole table, whatever the filters.
            count=bounded_count(qs, is_filtered(filterset) or not can_view_all(request.user)),
        )
    context.update(extra or {})
    return render(request, template, context)


def list_export(
    request,
    *,
    filterset,
    sort_keys: dict,
    filename: str,
    header: list[str],
    row_values,
    columns=None,
    default_sort="",
):
    """CSV of exactly the filtered list, in the list's order, streamed in keyset batches (`columns`, `default_sort`:
    as list_page)."""
    from django.http import HttpResponseBadRequest

    sort, descending = sort_from(request, sort_keys, default_sort)
    qs, errors = apply_filterset(filterset)
    if qs is None:
        return HttpResponseBadRequest("; ".join(errors), content_type="text/plain; charset=utf-8")
    key = sort_keys[sort]
    names = columns(qs, key.fields) if columns else None
    rows = iterate_keyset(qs, key, descending, batch=CSV_BATCH, columns=names)
    return csv_response(filename, header, rows, row_values)
