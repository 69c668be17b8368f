"""GET /v1/changes: the change log as a feed, newest first (docs/API.md "Change feed").

Every read starts from `feed_changes(request.user)`: the changes the caller may see (`visible_changes`),
below the PostgreSQL horizon, newest first by (txid, id). Values of read-restricted metadata the caller
may not read are redacted (`Redactor`). Pages are keyset pages of the marker pagination, in the list's
order: `forward` walks toward older changes, `backward` toward newer ones.
"""

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, router
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.settings import api_settings

from cmsportal.api import schema
from cmsportal.api.filtering import apply_filterset
from cmsportal.api.pagination import MarkerPagination, PrecompiledPages
from cmsportal.api.precompiled import PrecompiledQuery
from cmsportal.api.views import CMSView
from cmsportal.identity.access import can_view_all
from metadata.models import Namespace
from metadata.services import unreadable_namespaces_of

from ..access import Redactor, visible_changes
from ..choices import Action, ObjectType
from ..feed import FEED_ORDER, below_horizon, feed_changes
from ..filtersets import ChangeFilterSet
from ..models import Change
from ..shapes import change_to_dict
from . import serializers as s
from .atom import AtomRenderer

__all__ = ["CHANGE_FILTERS", "ChangeFeedView", "ChangePagination"]

CHANGE_FILTERS = ("objectType", "action", "key", "rcn", "account", "actor", "q", "since", "until")

# Change ids are bigints: more digits than this names no change.
_MAX_ID_DIGITS = 19


class ChangePagination(MarkerPagination):
    """Changes newest first by (txid, id); the marker is a change's id, looked up among those the caller may see."""

    key_fields = FEED_ORDER
    descending = True
    rels = {"current": "current", "self": "self", "previous": "previous", "next": "next", "last": "last"}

    def __init__(self, filters=(), markers=None, every=False):
        """`markers`: the changes a marker may name (the caller's); `every`: they are every change, so the
        marker is looked up with a precompiled query."""
        super().__init__(filters)
        self.markers = markers
        self.every = every

    def _key_of(self, ident: int) -> tuple | None:
        if self.every:
            rows = _MARKER.fetch(ident)
            if not rows and router.db_for_read(Change) != DEFAULT_DB_ALIAS:
                rows = _MARKER.fetch(ident, using=DEFAULT_DB_ALIAS)  # see below
            return (rows[0].txid, rows[0].id) if rows else None
        lookup = self.markers.filter(pk=ident).values_list(*self.key_fields)
        key = lookup.first()
        if key is None and lookup.db != DEFAULT_DB_ALIAS:
            # Read on a replica that has not replayed the change yet (the marker came from the primary or a
            # replica further ahead): the primary knows it, and the page shows what the replica has past it.
            key = lookup.using(DEFAULT_DB_ALIAS).first()
        return key

    def parse_marker(self, text):
        if not (text.isascii() and text.isdigit() and len(text.lstrip("0") or "0") <= _MAX_ID_DIGITS):
            raise ValidationError({"marker": f"A change marker is a change's id (digits), not {text[:40]!r}."})
        key = self._key_of(int(text))
        if key is None:
            # The same words whether the change is missing or hidden from the caller.
            raise ValidationError({"marker": "The marker names no change you may see."})
        return tuple(key)

    def marker_of_key(self, key):
        return str(key[1])


_NO_ID = -(2**62) + 5
# The feed's default pages and its marker lookup for callers who see every change, and the reader's unreadable
# namespaces, compiled once per connection (see PrecompiledQuery): the feed's pages cost what the account list's do.
_FEED_PAGES = PrecompiledPages(ChangePagination(), lambda: below_horizon(Change.objects.all()), Change)
_MARKER = PrecompiledQuery(lambda ident: Change.objects.filter(pk=ident), Change, placeholders=[_NO_ID])
_UNREADABLE = PrecompiledQuery(lambda user_id: unreadable_namespaces_of(user_id), Namespace, placeholders=[_NO_ID])


def _redactor(user) -> Redactor:
    if user.is_superuser or not user.is_authenticated:
        return Redactor(user)
    return Redactor(user, hidden=[namespace.name for namespace in _UNREADABLE.fetch(user.pk)])


class ChangeFeedView(CMSView):
    xml_shape = s.CHANGES
    # A change's before and after are the declared representations' snapshots (text, integers, booleans, null;
    # no declared field is a float) or an import's counts, so the feed is plain JSON like every resource.
    plain_json = True
    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, AtomRenderer]

    @extend_schema(
        operation_id="listChanges",
        summary="The change log as a feed, newest first (JSON, XML or Atom)",
        description=(
            "Changes newest first, by transaction then id; on PostgreSQL only those of finished transactions "
            "older than every running one, so that polling for newer changes (`marker` = the newest id seen, "
            "`direction=backward`, then the `previous` links) never skips nor repeats one. Values of "
            "read-restricted metadata the caller may not read are `(redacted)`. `application/atom+xml` gives an "
            "Atom feed (one entry per change, its JSON as the content)."
        ),
        parameters=[
            OpenApiParameter("objectType", str, enum=ObjectType.values, description="Changes of this kind of object."),
            OpenApiParameter("action", str, enum=Action.values, description="Changes of this kind."),
            OpenApiParameter("key", str, description="Changes of the object with exactly this key."),
            OpenApiParameter("rcn", str, description="Changes under this customer (RCN)."),
            OpenApiParameter("account", str, description="Changes under this account (TYPE/ID)."),
            OpenApiParameter("actor", str, description="Changes made by this user (username)."),
            OpenApiParameter("q", str, description="Changes of objects whose key contains this text."),
            OpenApiParameter("since", str, description="Changes at or after this time or day (ISO 8601)."),
            OpenApiParameter("until", str, description="Changes before this time or day (ISO 8601)."),
            schema.marker(
                "A change's id: forward, the page starting at it (it and older); backward, the changes just "
                "newer than it. `last` with direction=backward: the oldest changes."
            ),
            schema.LIMIT,
            schema.OFFSET,
            schema.DIRECTION,
        ],
        responses={200: s.ChangeFeedSerializer, **schema.faults(400)},
    )
    def get(self, request, **kwargs):
        user = request.user
        every = feed_changes(user)
        changes = apply_filterset(ChangeFilterSet, request, CHANGE_FILTERS, every)
        # Unfiltered, for a caller who sees every change: the default pages and the marker are precompiled.
        all_visible = can_view_all(user)
        precompiled = _FEED_PAGES if changes is every and all_visible else None
        pagination = ChangePagination(CHANGE_FILTERS, markers=visible_changes(user), every=all_visible)
        page = pagination.paginate(changes, request, precompiled=precompiled)
        # The reader's unreadable namespaces are read only when the page holds a metadata change.
        redactor = _redactor(user) if any(change.namespace for change in page.items) else None
        return Response({"change": [change_to_dict(c, redactor) for c in page.items], "link": page.links})
