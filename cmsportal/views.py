"""Site-wide pages: home, search, search suggestions, errors.

API paths get fault bodies instead (cmsportal.api.faults).
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_safe

from cmsportal import pages
from cmsportal import search as finder


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
    results = finder.search(request.user, query, limit=finder.SUGGESTIONS_PER_KIND, follow_identifiers=False)
    return render(request, "search/suggest.html", {"results": results, "query": query})


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    return render(request, "500.html", status=500)
