"""Input no view can serve, refused before any view runs: a clean 400 instead of a database error.

PostgreSQL refuses NUL (U+0000) in text, so a NUL anywhere a value may reach a query (a path segment, a
query parameter, a form field) is answered 400 here, the same on SQLite and PostgreSQL: under /v1/ and
/v2.0/ as a `badRequest` fault in the negotiated format, elsewhere as the 400 page. A form body over
DATA_UPLOAD_MAX_MEMORY_SIZE is 413. API bodies (JSON, XML) are checked by their parsers
(cmsportal/api/parsers.py). As a last line, a DataError (a value the database cannot store or compare:
too long, out of range) escaping a staff page is a 400 page too; API views map it to a fault in
cmsportal/api/faults.py.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DataError
from django.shortcuts import render

from cmsportal.api.faults import fault_response, is_api_path

__all__ = ["NUL", "NUL_MESSAGE", "too_big_message", "bad_request", "InputGuardMiddleware"]

NUL = "\x00"
NUL_MESSAGE = "The request contains a NUL character, which no value may hold."


def too_big_message() -> str:
    return f"The request body is larger than the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."


def bad_request(request, status: int, message: str, details: str | None = None):
    """A 4xx answer to input the server will not serve: a fault under the API, the error page elsewhere."""
    if is_api_path(request.path_info):
        return fault_response(request, status, message, details)
    return render(request, "400.html", {"message": message, "status": status}, status=status)


def _has_nul(querydict) -> str | None:
    """The first parameter of `querydict` whose name or a value holds NUL, if any."""
    for name, values in querydict.lists():
        if NUL in name or any(NUL in value for value in values):
            return name.replace(NUL, "\\x00")
    return None


class InputGuardMiddleware:
    """NUL in the path, the query string or a form body is 400; an oversized form body is 413."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if NUL in request.path_info:
            return bad_request(request, 400, NUL_MESSAGE, "path")
        name = _has_nul(request.GET)
        if name is not None:
            return bad_request(request, 400, NUL_MESSAGE, name)
        if request.method == "POST" and not is_api_path(request.path_info):
            try:
                name = _has_nul(request.POST)
            except RequestDataTooBig:
                return bad_request(request, 413, too_big_message())
            except TooManyFieldsSent:
                return bad_request(request, 400, "The form has too many fields.")
            if name is not None:
                return bad_request(request, 400, NUL_MESSAGE, name)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DataError) and not is_api_path(request.path_info):
            return bad_request(request, 400, "A value in the request cannot be stored or compared.")
        return None
