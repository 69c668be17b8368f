"""Site-wide pages: home, search, search suggestions, errors; the health check.

API paths get fault bodies instead (cmsportal.api.faults).
"""

import sys

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import Error, connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from cmsportal import outage, pages, replicas, services
from cmsportal import search as finder

from .choices import ListName
from .models import SavedFilter

__all__ = [
    "home",
    "favicon",
    "search",
    "suggest",
    "customer_suggest",
    "saved_filter_save",
    "saved_filter_delete",
    "page_not_found",
    "server_error",
    "healthz",
]


@login_required
@require_safe
def home(request):
    """The search box, quick links, and the records the user opened lately (those they may still see)."""
    return render(request, "search/home.html", {"recent": pages.recently_viewed(request.user)})


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says: send them to the icon the pages name."""
    response = redirect(static("img/favicon.svg"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


@login_required
@require_safe
def search(request):
    """Results grouped by kind; an identifier that names one record goes straight to it."""
    query = finder.normalize(request.GET.get("q"))
    results = finder.search(request.user, query)
    if results.redirect:
        return redirect(results.redirect)
    return render(request, "search/results.html", {"results": results, "query": query})


@login_required
@require_safe
def suggest(request):
    """A small HTML fragment of the top matches per kind, for the search box to show while typing."""
    query = finder.normalize(request.GET.get("q"))
    results = finder.search(
        request.user, query, limit=finder.SUGGESTIONS_PER_KIND, follow_identifiers=False, context=False
    )
    return render(request, "search/suggest.html", {"results": results, "query": query})


@login_required
@require_safe
def customer_suggest(request):
    """The customers an RCN field (merge, move) suggests for what was typed: RCN and name, as JSON.

    Only customers the user may see (the search's own gate); the fields work as plain text fields without it.
    """
    customers = finder.customer_suggestions(request.user, request.GET.get("q"))
    return JsonResponse(
        {
            "customers": [
                {"rcn": c.rcn, "name": c.name or "", "label": f"{c.rcn} — {c.name}" if c.name else c.rcn}
                for c in customers
            ]
        }
    )


@login_required
@require_POST
def saved_filter_save(request):
    """Save the filters a list shows now under a name (the same name replaces them)."""
    list_name = request.POST.get("list", "")
    if list_name not in ListName.values:
        return redirect("home")
    query = request.POST.get("query", "")
    try:
        saved, created = services.saved_filter_save(
            user=request.user, list_name=list_name, name=request.POST.get("name", ""), query=query
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(reverse(list_name) + (f"?{query}" if query and len(query) <= 2000 else ""))
    messages.success(request, f"Saved the filter {saved.name!r}." if created else f"Updated the filter {saved.name!r}.")
    return redirect(saved.get_absolute_url())


@login_required
@require_POST
def saved_filter_delete(request, pk):
    try:
        saved = SavedFilter.objects.get(user=request.user, pk=pk)
    except SavedFilter.DoesNotExist:
        messages.error(request, "That saved filter no longer exists.")
        return redirect("home")
    services.saved_filter_delete(user=request.user, pk=pk)
    messages.success(request, f"Deleted the saved filter {saved.name!r}.")
    return redirect(saved.list_name)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    # Django calls this for an exception that escaped a middleware, too (the session's, the user's).
    exc = sys.exc_info()[1]
    if outage.database_unavailable(exc):
        return outage.answer(request, exc)
    return render(request, "500.html", status=500)


@never_cache
@require_safe
def healthz(request):
    """For load balancers: 200 `{"status": "ok"}` when the database answers `SELECT 1`, else 503.

    With read replicas (`DATABASE_REPLICA_URLS`) it reports each by its name, `"replicas": {"replica1":
    {"status": "ok" | "lagging" | "unreachable", "lagSeconds": 0.3}}`, as this worker last found it (checked
    again when older than CMS_REPLICA_CHECK_SECONDS). A replica down does not make this 503: its reads go to
    the primary. Never an address, a user name, a password or an error text.

    No authentication, no session, no data; a failure costs at most the connect timeout.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Error as exc:
        outage.log_unavailable(request, exc)
        response = JsonResponse({"status": "unavailable"}, status=503, headers={"Retry-After": str(outage.RETRY_AFTER)})
        response._has_been_logged = True
        return response
    body = {"status": "ok"}
    if replicas.replica_aliases():
        body["replicas"] = replicas.health.report()
    return JsonResponse(body)
