"""Conditional requests (RFC 9110 section 13) and the version checks writes share with the staff pages.

A resource's state has a `Version`: an opaque tag (a digest of its representation data) and the
moment it last changed. Reads answer with `ETag` and `Last-Modified` and honour `If-None-Match`,
`If-Modified-Since` (304) and `If-Match`, `If-Unmodified-Since` (412). Writes hand the request's
preconditions, or the version a staff form was opened on, to the service as an `Expectation`; the
service checks it against the row it holds locked, inside its transaction, and raises `StaleVersion`
when the row has moved on. So the check and the write cannot be separated by another writer.

The ETag of a representation is `"<version>-<format>"`: JSON and XML bodies differ byte for byte, so
each has its own strong validator. If-Match compares versions (the part before the format): a client
may read one format and write in another.

A view declares how to compute its validator (`version_of(self, data)`, see `ConditionalMixin`); the
evaluation, the headers, 304 and 412 (`preconditionFailed` in the negotiated format) live here.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.http import parse_http_date_safe
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from cmsportal.versions import Expectation, ExpectVersion, StaleVersion, Version, check, digest, expectation

__all__ = [
    "Version",
    "digest",
    "StaleVersion",
    "PreconditionFailed",
    "Expectation",
    "ExpectVersion",
    "expectation",
    "check",
    "EntityTag",
    "parse_etags",
    "RequestPreconditions",
    "preconditions",
    "etag_for",
    "http_date",
    "validator_headers",
    "ConditionalMixin",
    "READ_PARAMETERS",
    "WRITE_PARAMETERS",
    "NOT_MODIFIED",
]

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc excludes DQUOTE, so a tag may hold a comma.
_ETAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource has changed: read it again and retry with its current ETag."
    default_code = "precondition_failed"


# --- request headers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EntityTag:
    opaque: str
    weak: bool


def parse_etags(value: str | None) -> list[EntityTag] | None:
    """The entity tags of an If-Match / If-None-Match value: None if absent, [] if none is well formed, or ["*"]."""
    if value is None:
        return None
    if value.strip() == "*":
        return ["*"]
    tags, position = [], 0
    while position < len(value):
        match = _ETAG.match(value, position)
        if match is None or match.end() == position:
            break  # the rest is not an entity tag: what came before still counts
        tags.append(EntityTag(match.group(2), bool(match.group(1))))
        position = match.end()
    return tags


def _timestamp(moment: datetime | None) -> int | None:
    """Whole seconds, as HTTP dates carry them."""
    return None if moment is None else int(moment.timestamp())


def _version_part(opaque: str) -> str:
    """The version in an opaque tag of ours (`<version>-<format>`); a foreign tag is compared whole."""
    return opaque.rsplit("-", 1)[0]


@dataclass(frozen=True)
class RequestPreconditions(Expectation):
    """The preconditions of one request, evaluated in the order RFC 9110 section 13.2.2 gives."""

    method: str
    if_match: list | None = None
    if_none_match: list | None = None
    if_modified_since: int | None = None
    if_unmodified_since: int | None = None

    @classmethod
    def of(cls, request) -> "RequestPreconditions | None":
        """The request's preconditions, or None when it has none."""
        meta = request.META
        if_match = parse_etags(meta.get("HTTP_IF_MATCH"))
        if_none_match = parse_etags(meta.get("HTTP_IF_NONE_MATCH"))
        # An invalid date is ignored, as RFC 9110 says.
        ims = parse_http_date_safe(meta["HTTP_IF_MODIFIED_SINCE"]) if "HTTP_IF_MODIFIED_SINCE" in meta else None
        ius = parse_http_date_safe(meta["HTTP_IF_UNMODIFIED_SINCE"]) if "HTTP_IF_UNMODIFIED_SINCE" in meta else None
        if if_match is None and if_none_match is None and ims is None and ius is None:
            return None
        return cls(request.method, if_match, if_none_match, ims, ius)

    def evaluate(self, current: Version | None, etag: str | None = None) -> int | None:
        """None if the request may proceed, else the status to answer instead: 304 or 412.

        `current` is None when the resource does not exist. `etag` is the opaque tag of the representation
        a read would send (reads compare whole tags; writes compare versions, whatever the format).
        """
        safe = self.method in ("GET", "HEAD")
        modified = _timestamp(current.last_modified) if current is not None else None
        # 1. If-Match: strong comparison; "*" matches any current representation.
        if self.if_match is not None:
            if current is None:
                return 412
            if self.if_match != ["*"] and not any(
                not tag.weak and self._same(tag.opaque, current, etag) for tag in self.if_match
            ):
                return 412
        # 2. If-Unmodified-Since, only without If-Match and only where a modification date is known.
        elif self.if_unmodified_since is not None and modified is not None and modified > self.if_unmodified_since:
            return 412
        # 3. If-None-Match: weak comparison.
        if self.if_none_match is not None:
            if current is not None and (
                self.if_none_match == ["*"] or any(self._same(tag.opaque, current, etag) for tag in self.if_none_match)
            ):
                return 304 if safe else 412
        # 4. If-Modified-Since, only for reads without If-None-Match.
        elif (
            safe and self.if_modified_since is not None and modified is not None and modified <= self.if_modified_since
        ):
            return 304
        return None

    @staticmethod
    def _same(opaque: str, current: Version, etag: str | None) -> bool:
        """Reads compare the whole tag of the representation; writes compare versions, whatever the format."""
        if etag is not None:
            return opaque == etag
        return _version_part(opaque) == current.tag

    def holds(self, current):
        return self.evaluate(current) is None

    def needs_existing(self):
        return self.if_match is not None


def preconditions(request) -> RequestPreconditions | None:
    """The preconditions a write request carries (If-Match, If-Unmodified-Since, If-None-Match), or None."""
    return RequestPreconditions.of(request)


# --- views ------------------------------------------------------------------------------------------


def etag_for(version: Version, fmt: str | None) -> str:
    """The opaque tag (without quotes) of the representation of `version` in format `fmt`."""
    return f"{version.tag}-{fmt or 'json'}"


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(moment: datetime) -> str:
    """IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), without the locale or the detour through email.utils."""
    v = moment.astimezone(UTC)
    return (
        f"{_DAYS[v.weekday()]}, {v.day:02d} {_MONTHS[v.month - 1]} {v.year:04d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d} GMT"
    )


def validator_headers(version: Version, fmt: str | None) -> dict:
    headers = {"ETag": f'"{etag_for(version, fmt)}"'}
    if version.last_modified is not None:
        headers["Last-Modified"] = http_date(version.last_modified)
    return headers


class ConditionalMixin:
    """For CMS API views with a single resource: validators on GET, preconditions on GET and on writes.

    A view declares `version_of(self, data) -> Version` for the data its GET answers (computed from what
    the view already loaded: no query). GET then answers with ETag and Last-Modified, 304 (no body) when
    If-None-Match or If-Modified-Since say the client's copy is current, 412 when If-Match or
    If-Unmodified-Since fail. Writes pass `preconditions(request)` to their service; a `StaleVersion` it
    raises becomes 412 `preconditionFailed`.
    """

    def version_of(self, data) -> Version:
        raise NotImplementedError

    def handle_exception(self, exc):
        if isinstance(exc, StaleVersion):
            exc = PreconditionFailed()
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        if request.method in ("GET", "HEAD") and response.status_code == 200 and response.data is not None:
            accepted = getattr(request, "accepted_renderer", None)
            version = self.version_of(response.data)
            fmt = getattr(accepted, "format", None)
            conditions = RequestPreconditions.of(request)
            outcome = conditions.evaluate(version, etag_for(version, fmt)) if conditions else None
            if outcome == 412:
                response = self.handle_exception(PreconditionFailed())
            else:
                if outcome == 304:
                    response = Response(status=status.HTTP_304_NOT_MODIFIED)
                for name, value in validator_headers(version, fmt).items():
                    response[name] = value
        return super().finalize_response(request, response, *args, **kwargs)


# --- OpenAPI ----------------------------------------------------------------------------------------

_RESPONSE_HEADERS = [
    OpenApiParameter(
        "ETag",
        str,
        OpenApiParameter.HEADER,
        description="Strong validator of this representation, for If-None-Match and If-Match.",
        response=[200, 304],
    ),
    OpenApiParameter(
        "Last-Modified",
        str,
        OpenApiParameter.HEADER,
        description="When the resource last changed (to the second), for If-Modified-Since and If-Unmodified-Since.",
        response=[200, 304],
    ),
]

READ_PARAMETERS = [
    OpenApiParameter(
        "If-None-Match",
        str,
        OpenApiParameter.HEADER,
        description="ETags of copies the client holds (weak comparison): 304 Not Modified, no body, if one is current.",
    ),
    OpenApiParameter(
        "If-Modified-Since",
        str,
        OpenApiParameter.HEADER,
        description="An HTTP date: 304 if the resource has not changed since (ignored with If-None-Match).",
    ),
    OpenApiParameter(
        "If-Match",
        str,
        OpenApiParameter.HEADER,
        description="412 preconditionFailed unless one of these ETags is current (strong comparison).",
    ),
    OpenApiParameter(
        "If-Unmodified-Since",
        str,
        OpenApiParameter.HEADER,
        description="An HTTP date: 412 preconditionFailed if the resource changed since (ignored with If-Match).",
    ),
    *_RESPONSE_HEADERS,
]

WRITE_PARAMETERS = [
    OpenApiParameter(
        "If-Match",
        str,
        OpenApiParameter.HEADER,
        description=(
            "Write only if the entry's current version is one of these ETags (strong comparison; the ETag of either "
            "format names the version); `*`: only if the entry exists. Otherwise 412 preconditionFailed."
        ),
    ),
    OpenApiParameter(
        "If-Unmodified-Since",
        str,
        OpenApiParameter.HEADER,
        description="An HTTP date: 412 preconditionFailed if the entry changed after it (ignored with If-Match).",
    ),
    OpenApiParameter(
        "If-None-Match",
        str,
        OpenApiParameter.HEADER,
        description="`*`: create only (412 if the entry exists); ETags: 412 if one of them is current.",
    ),
]

NOT_MODIFIED = {
    304: OpenApiResponse(description="Not Modified: the copy the client holds is current (no body; validators sent).")
}
