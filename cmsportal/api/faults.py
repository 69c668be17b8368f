"""Fault bodies: every error under /v1/ and /v2.0/ as the reference's fault documents.

`{"badRequest": {"code": 400, "message": "...", "details": "..."}}` in JSON, or
`<badRequest xmlns="http://customer.api.rackspace.com/v1" code="400"><message>...</message>
<details>...</details></badRequest>` in XML, whichever the request negotiated.

`exception_handler` serves DRF views (settings.REST_FRAMEWORK["EXCEPTION_HANDLER"]);
`FaultMiddleware` covers what happens outside them (an exception escaping a plain Django view, or an
HTML error page produced for an API path), so that no API client ever sees HTML or a traceback.
"""

import logging
import math

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, SuspiciousOperation, ValidationError
from django.db import DataError
from django.http import Http404, HttpResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from cmsportal.outage import RETRY_AFTER, database_unavailable, log_unavailable

from .negotiation import choose, path_format
from .renderers import FAULT, CMSJSONRenderer, CMSXMLRenderer, xml_document

__all__ = [
    "logger",
    "API_PREFIXES",
    "FAULT_NAMES",
    "DEFAULT_MESSAGES",
    "fault_name",
    "fault_body",
    "fault_for",
    "FaultResponse",
    "exception_handler",
    "is_api_path",
    "fault_response",
    "FaultMiddleware",
]

logger = logging.getLogger("cmsportal.api")

API_PREFIXES = ("/v1/", "/v2.0/")

FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "notFound",
    405: "methodNotAllowed",
    406: "notAcceptable",
    409: "conflict",
    412: "preconditionFailed",
    413: "overLimit",
    415: "unsupportedMediaType",
    500: "internalServerError",
    503: "serviceUnavailable",
}

DEFAULT_MESSAGES = {
    400: "The request is not valid.",
    401: "Authentication is required: send a valid X-Auth-Token.",
    403: "You may not do this.",
    404: "The resource could not be found.",
    405: "This method is not allowed on this resource.",
    406: "This resource cannot be represented in any media type you accept.",
    409: "The request conflicts with the current state of the resource.",
    412: "A precondition of the request failed.",
    413: "Too many requests: try again later.",
    415: "This media type is not supported.",
    500: "The server failed to process the request.",
    503: "The service is unavailable: try again later.",
}


def fault_name(status: int) -> str:
    if status in FAULT_NAMES:
        return FAULT_NAMES[status]
    return "badRequest" if status < 500 else "internalServerError"


def fault_body(status: int, message: str | None = None, details: str | None = None) -> dict:
    body = {"code": status, "message": message or DEFAULT_MESSAGES.get(status, "Error.")}
    if details:
        body["details"] = details
    return {fault_name(status): body}


def _flatten(detail, field: str | None = None) -> list[tuple[str | None, str]]:
    """DRF/Django error details as [(field or None, message)]."""
    if isinstance(detail, dict):
        return [pair for key, value in detail.items() for pair in _flatten(value, None if key == "__all__" else key)]
    if isinstance(detail, list | tuple):
        return [pair for value in detail for pair in _flatten(value, field)]
    return [(field, str(detail))]


def _message_details(detail) -> tuple[str | None, str | None]:
    """(message, details): the messages joined; details name the parameters or fields at fault."""
    pairs = _flatten(detail)
    if not pairs:
        return None, None
    message = " ".join(dict.fromkeys(text for _, text in pairs))
    fields = [field for field, _ in pairs if field and field not in ("detail", "non_field_errors")]
    return message, (", ".join(dict.fromkeys(fields)) if fields else None)


def fault_for(exc) -> tuple[int, str | None, str | None, dict]:
    """(status, message, details, headers) of the fault that answers `exc`."""
    headers = {}
    if database_unavailable(exc):  # cmsportal/outage.py
        return 503, None, None, {"Retry-After": str(RETRY_AFTER)}
    if isinstance(exc, exceptions.Throttled):
        if exc.wait is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
        return 413, str(exc.detail), None, headers
    if isinstance(exc, exceptions.APIException):
        status = 413 if exc.status_code == 429 else exc.status_code
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
        message, details = _message_details(exc.detail)
        return status, message, details, headers
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        return 404, (str(exc) if isinstance(exc, Http404) and str(exc) else None), None, headers
    if isinstance(exc, PermissionDenied):
        return 403, str(exc) or None, None, headers
    if isinstance(exc, ValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        message, details = _message_details(detail)
        return 400, message, details, headers
    if isinstance(exc, SuspiciousOperation):
        return 400, None, None, headers
    if isinstance(exc, DataError):
        # A value the database refuses (too long, out of range): the request's fault, never a 500.
        return 400, "A value in the request cannot be stored or compared.", None, headers
    return 500, None, None, headers


class FaultResponse(Response):
    """A DRF response whose body is a fault; renders as a fault in XML too."""

    xml_shape = FAULT


def exception_handler(exc, context):
    """DRF exception handler: every exception becomes a fault response (500s are logged, never detailed)."""
    status, message, details, headers = fault_for(exc)
    set_rollback()  # a failed request leaves nothing behind, even under ATOMIC_REQUESTS
    response = FaultResponse(fault_body(status, message, details), status=status, headers=headers)
    if database_unavailable(exc):  # one line, no traceback
        log_unavailable(context["request"], exc)
        response._has_been_logged = True
    elif status >= 500:
        view = context.get("view")
        logger.error("Unhandled exception in %s", view.__class__.__name__ if view else "API", exc_info=exc)
    return response


def is_api_path(path: str) -> bool:
    return any(path.startswith(prefix) or path == prefix.rstrip("/") for prefix in API_PREFIXES)


def fault_response(request, status: int, message=None, details=None, headers=None) -> HttpResponse:
    """A fault as a plain Django response, in the format the request asks for (JSON unless XML is chosen)."""
    renderers = [CMSJSONRenderer(), CMSXMLRenderer()]
    renderer = choose(renderers, request.META.get("HTTP_ACCEPT"), path_format(request.path_info)) or renderers[0]
    data = fault_body(status, message, details)
    if renderer.format == "xml":
        content, content_type = xml_document(data, FAULT), "application/xml; charset=utf-8"
    else:
        content, content_type = renderer.render(data), "application/json"
    response = HttpResponse(content, status=status, content_type=content_type)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class FaultMiddleware:
    """Under /v1/ and /v2.0/: exceptions and HTML error pages become fault bodies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api_path(request.path_info)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return fault_response(request, response.status_code)
        return response

    def process_exception(self, request, exception):
        if not is_api_path(request.path_info) or database_unavailable(exception):
            return None  # a database failure is cmsportal.outage.OutageMiddleware's to answer
        status, message, details, headers = fault_for(exception)
        if status >= 500:
            logger.error("Unhandled exception at %s", request.path_info, exc_info=exception)
        return fault_response(request, status, message, details, headers)
