"""Content negotiation of the CMS API.

JSON is the default. `Accept` chooses between the renderers by quality and specificity
(`application/xml` and `text/xml` mean XML); a `.json` or `.xml` suffix on the path overrides the
header. An `Accept` that allows none of the renderers is 406 `notAcceptable`, rendered as JSON.
"""

import re

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation

__all__ = [
    "SUFFIX_RE",
    "ALIASES",
    "parse_accept",
    "choose",
    "path_format",
    "CMSContentNegotiation",
    "IgnoreAcceptNegotiation",
]

SUFFIX_RE = re.compile(r"\.(json|xml)$")

# Media types accepted as asking for a renderer, besides the renderer's own.
ALIASES = {"xml": ("text/xml",), "json": ()}


def parse_accept(header: str) -> list[tuple[str, float]]:
    """`Accept` as [(media range, quality)] in header order; malformed entries are dropped."""
    ranges = []
    for part in (header or "").split(","):
        pieces = [piece.strip() for piece in part.split(";")]
        media = pieces[0].lower()
        if "/" not in media:
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value)))
                except ValueError:
                    quality = 0.0
        ranges.append((media, quality))
    return ranges


def _match(media_types: tuple[str, ...], ranges: list[tuple[str, float]]) -> tuple[float, int] | None:
    """(quality, specificity) of the most specific range matching any of `media_types`, or None."""
    best = None
    for media_type in media_types:
        main = media_type.split("/")[0]
        for media_range, quality in ranges:
            if media_range == media_type:
                specificity = 2
            elif media_range == f"{main}/*":
                specificity = 1
            elif media_range == "*/*":
                specificity = 0
            else:
                continue
            if best is None or specificity > best[1]:
                best = (quality, specificity)
    return best


def choose(renderers, accept_header: str | None, format_suffix: str | None = None):
    """The renderer for a request: the suffix's, else the best by `Accept`, else the first; None if none fits."""
    if format_suffix:
        return next((r for r in renderers if r.format == format_suffix), None)
    ranges = parse_accept(accept_header or "")
    if not ranges:
        return renderers[0] if renderers else None
    best, best_score = None, None
    for renderer in renderers:
        media_types = (renderer.media_type.split(";")[0].strip(), *ALIASES.get(renderer.format, ()))
        matched = _match(media_types, ranges)
        if matched is None or matched[0] <= 0:
            continue
        if best_score is None or matched > best_score:
            best, best_score = renderer, matched
    return best


def path_format(path: str) -> str | None:
    """The format a path's suffix asks for (`.json`, `.xml`), if any."""
    match = SUFFIX_RE.search(path or "")
    return match.group(1) if match else None


class CMSContentNegotiation(DefaultContentNegotiation):
    """JSON by default, XML on request; a path suffix beats the `Accept` header."""

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = choose(renderers, request.META.get("HTTP_ACCEPT"), format_suffix)
        if renderer is None:
            offered = ", ".join(r.media_type for r in renderers)
            raise exceptions.NotAcceptable(f"This resource is available as {offered}.")
        return renderer, renderer.media_type


class IgnoreAcceptNegotiation(DefaultContentNegotiation):
    """For the documentation views: always their first renderer, whatever the client accepts."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
