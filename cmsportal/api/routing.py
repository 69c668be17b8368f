"""Route and URL helpers of the CMS API.

Every resource answers at its path and at the same path with a `.json` or `.xml` suffix (which
overrides `Accept`). The suffixed route is listed first so a suffix never becomes part of an id or a
key; a key that itself ends in `.json` is reached by adding the suffix (`.../metadata/a:b.json.json`).
"""

import re
from urllib.parse import quote

from django.urls import get_script_prefix, re_path

__all__ = ["SUFFIX", "ACCOUNT", "api_path", "api_base", "api_url", "unknown_path"]

SUFFIX = r"\.(?P<format>json|xml)"
ACCOUNT = r"customer_accounts/(?P<accountType>[^/]+)/(?P<accountId>[^/]+?)"


def api_path(pattern: str, view, name: str) -> list:
    """The routes of one resource: `pattern` with a format suffix, then without (named `name`)."""
    return [
        re_path(rf"^{pattern}{SUFFIX}$", view, name=f"{name}-suffixed"),
        re_path(rf"^{pattern}$", view, name=name),
    ]


def api_base(request) -> str:
    """Absolute URL of /v1/ for this request, worked out once per request (a list page links every item)."""
    base = getattr(request, "_cms_api_base", None)
    if base is None:
        base = request.build_absolute_uri(f"{get_script_prefix()}v1/")
        request._cms_api_base = base
    return base


# Characters `quote(segment, safe=":@")` leaves as they are: a segment made only of them needs no quoting.
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~:@-]*")


def _segment(value) -> str:
    text = str(value)
    return text if _UNQUOTED.fullmatch(text) else quote(text, safe=":@")


def api_url(request, *segments: str) -> str:
    """Absolute URL of an API resource under /v1/, each path segment quoted."""
    # Quoted segments are plain ASCII, which build_absolute_uri would leave as it is: appending is the same URL.
    return api_base(request) + "/".join(_segment(segment) for segment in segments)


def unknown_path():
    """The last route of /v1/ and /v2.0/: any path no resource answers is a `notFound` fault."""
    from .views import UnknownPathView

    return re_path(rf"^.*?(?:{SUFFIX})?$", UnknownPathView.as_view(), name="api-unknown-path")
