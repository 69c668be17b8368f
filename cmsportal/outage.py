"""When the database is away: a 503 that says "try again later", never a 500, a traceback or a hang.

A database that cannot answer (PostgreSQL refusing connections, restarting, its connections
terminated, the database dropped or renamed; SQLite locked by a writer) raises `OperationalError` or
`InterfaceError` wherever the request happens to touch it first: the session and authentication
middleware (both lazy), token authentication, a view, a template. Whatever the place, the answer is:

- under /v1/ and /v2.0/: the `serviceUnavailable` fault (503), JSON or XML as negotiated;
- everywhere else (staff pages, admin): templates/503.html, rendered from the template alone, with no
  request context (no session, no user, no context processor that could query);
- with `Retry-After`, and one log line per failed request, without a traceback.

Django turns an exception into a response at the layer where it is raised, so three hooks catch it:
`OutageMiddleware.process_exception` (views and templates; `cmsportal.api.faults.exception_handler`
for DRF views), the 500 handler (`cmsportal.views.server_error`: errors raised in middleware), and
`OutageMiddleware.__call__` around the whole chain for anything that still escapes.

The connection a failure leaves behind is not reused: Django closes a connection whose query failed at
the end of the request unless it proves usable, and checks a persistent connection before each
request's first query (cmsportal/postgresql/base.py), so service resumes by itself when the database
returns. The connect timeout (`CMS_DB_CONNECT_TIMEOUT`) keeps an unreachable server from holding a
request longer than a few seconds.
"""

import logging
import sqlite3

from django.db import utils
from django.http import HttpResponse
from django.template.loader import render_to_string

__all__ = [
    "logger",
    "RETRY_AFTER",
    "database_unavailable",
    "log_unavailable",
    "unavailable_response",
    "answer",
    "OutageMiddleware",
]

try:
    import psycopg
except ImportError:  # pragma: no cover (psycopg is a dependency; SQLite works without it)
    psycopg = None

logger = logging.getLogger("cmsportal.outage")

RETRY_AFTER = 5  # seconds: long enough not to hammer a restarting server, short enough for a failover

_ERRORS = (utils.OperationalError, utils.InterfaceError, sqlite3.OperationalError)
if psycopg is not None:
    _ERRORS += (psycopg.OperationalError, psycopg.InterfaceError)

# SQLite reports mistakes in a query (no such table, syntax errors) as OperationalError too: only these
# messages mean that the database cannot answer now.
_SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open database file", "disk i/o")


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` says the database cannot answer now (rather than that a query is wrong)."""
    if not isinstance(exc, _ERRORS):
        return False
    cause = exc if isinstance(exc, sqlite3.Error) else exc.__cause__
    if isinstance(cause, sqlite3.Error):
        message = str(cause).lower()
        return any(text in message for text in _SQLITE_UNAVAILABLE)
    # PostgreSQL: psycopg's OperationalError is the connection and server-state classes (08, 53, 57,
    # 58, serialization failures, lock timeouts): all worth retrying. Its InterfaceError is a closed
    # connection.
    return True


def _path(request) -> str:
    """The request's path for the log; a token in the path of DELETE /v2.0/tokens/{token} is left out."""
    path = request.path
    index = path.find("/tokens/")
    return path if index < 0 else f"{path[: index + len('/tokens/')]}<token>"


def log_unavailable(request, exc: BaseException) -> None:
    """One line for a request the database failed: what, where, and the first line of the error."""
    lines = str(exc).strip().splitlines()
    logger.error(
        "Database unavailable: %s %s: %s: %s",
        request.method,
        _path(request),
        type(exc).__name__,
        lines[0][:300] if lines else "",
        extra={"status_code": 503},
    )


def unavailable_response(request) -> HttpResponse:
    """The 503 for `request`: a fault under the API paths, the plain page elsewhere; both with Retry-After."""
    from cmsportal.api.faults import fault_response, is_api_path  # faults imports this module

    headers = {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"}
    if is_api_path(request.path_info):
        response = fault_response(request, 503, headers=headers)
    else:
        # No request: no context processors, so nothing that could reach the session or the user.
        response = HttpResponse(render_to_string("503.html"), status=503, headers=headers)
    response._has_been_logged = True  # log_unavailable() wrote its line; Django's would be a second
    return response


def answer(request, exc: BaseException) -> HttpResponse:
    log_unavailable(request, exc)
    return unavailable_response(request)


class OutageMiddleware:
    """Outermost but for SecurityMiddleware: database failures become 503 answers (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        except _ERRORS as exc:
            if not database_unavailable(exc):
                raise
            return answer(request, exc)

    def process_exception(self, request, exception):
        if database_unavailable(exception):
            return answer(request, exception)
        return None
