"""The metadata of an account in the CMS API: list, one entry, its detail, and the two writes.

Read-restricted namespaces the caller may not read are left out of the list and are 403 when named
(checked before existence, so a 404 never reveals an unreadable key). Writes go through
metadata/services.py, which enforces the namespace policy.
"""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from accounts.api.views import ACCOUNT_PATH, AccountResourceMixin
from cmsportal.api import conditional, schema
from cmsportal.api.precompiled import PrecompiledQuery
from cmsportal.api.views import CMSView
from cmsportal.identity.access import actor_for

from ..models import Metadata, namespace_of
from ..representations import metadata_detail_to_dict
from ..services import (
    can_read_namespace,
    metadata_delete,
    metadata_set,
    metadata_version,
    unreadable_namespaces_of,
)
from . import serializers as s

__all__ = [
    "KEY_PATH",
    "MetadataListView",
    "MetadataEntryMixin",
    "MetadataKeyView",
    "MetadataDetailView",
    "readable_entries",
]

KEY_PATH = [
    *ACCOUNT_PATH,
    OpenApiParameter("key", str, OpenApiParameter.PATH, description="A metadata key, `namespace:name`."),
]


def _unreadable_for(user_id):
    """Names of the read-restricted namespaces the user may not read: `unreadable_namespaces` as a subquery."""
    return unreadable_namespaces_of(user_id).values("name")


_NO_ID = -(2**31) + 11
# `readable_metadata(account, user)` in key order, compiled once per connection (see PrecompiledQuery): for a
# superuser every entry, for anyone else those outside the read-restricted namespaces none of their groups reads.
_ALL_METADATA = PrecompiledQuery(
    lambda account_id: Metadata.objects.filter(account_id=account_id).order_by("key"), Metadata, placeholders=[_NO_ID]
)
_READABLE_METADATA = PrecompiledQuery(
    lambda account_id, user_id: (
        Metadata.objects.filter(account_id=account_id).exclude(namespace__in=_unreadable_for(user_id)).order_by("key")
    ),
    Metadata,
    placeholders=[_NO_ID, _NO_ID - 1],
)


def readable_entries(account, user) -> list[Metadata]:
    """The account's metadata entries `user` may read (the same as metadata.services.readable_metadata), by key."""
    if user.is_superuser:
        return _ALL_METADATA.fetch(account.pk)
    return _READABLE_METADATA.fetch(account.pk, user.pk)


class MetadataListView(AccountResourceMixin, CMSView):
    xml_shape = s.METADATA

    @extend_schema(
        operation_id="listMetadata",
        summary="All metadata of an account the caller may read",
        parameters=ACCOUNT_PATH,
        responses={200: s.MetadataSerializer, **schema.faults()},
    )
    def get(self, request, **kwargs):
        return Response(
            {"metadata": {entry.key: entry.value for entry in readable_entries(self.get_account(), request.user)}}
        )


class MetadataEntryMixin(AccountResourceMixin):
    def get_entry(self) -> Metadata:
        """The entry named in the path: 403 if its namespace is unreadable, 404 if absent."""
        account, key = self.get_account(), self.kwargs["key"]
        namespace = namespace_of(key)
        if not can_read_namespace(self.request.user, namespace):
            raise PermissionDenied(f"You may not read metadata in the namespace {namespace!r}.")
        entry = Metadata.objects.filter(account=account, key=key).first()
        if entry is None:
            raise NotFound(f"No metadata {key!r} on {account.key}.")
        self._entry = entry
        return entry


class MetadataKeyView(conditional.ConditionalMixin, MetadataEntryMixin, CMSView):
    xml_shape = s.META

    @extend_schema(
        operation_id="getMetadata",
        summary="One metadata entry",
        description="Conditional: ETag and Last-Modified; If-None-Match / If-Modified-Since answer 304.",
        parameters=[*KEY_PATH, *conditional.READ_PARAMETERS],
        responses={200: s.MetaSerializer, **conditional.NOT_MODIFIED, **schema.faults(403, 412)},
    )
    def get(self, request, **kwargs):
        entry = self.get_entry()
        return Response({"meta": {entry.key: entry.value}})

    def version_of(self, data):
        return metadata_version(self._entry)

    @extend_schema(
        operation_id="setMetadata",
        summary="Create or replace one metadata entry",
        description="Optimistic locking: send the ETag read with If-Match; 412 preconditionFailed if it is stale.",
        parameters=[*KEY_PATH, *conditional.WRITE_PARAMETERS],
        request=s.MetaSerializer,
        examples=[OpenApiExample("JSON body", value={"meta": {"name": "Some Value"}}, request_only=True)],
        responses={204: None, **schema.faults(400, 403, 412, 415)},
    )
    def put(self, request, **kwargs):
        account = self.get_account()
        value = s.meta_value(request.data)
        metadata_set(
            account=account,
            key=kwargs["key"],
            value=value,
            actor=actor_for(request.user),
            user=request.user,
            expected_version=conditional.preconditions(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="deleteMetadata",
        summary="Delete one metadata entry",
        description="Optimistic locking: send the ETag read with If-Match; 412 preconditionFailed if it is stale.",
        parameters=[*KEY_PATH, *conditional.WRITE_PARAMETERS],
        responses={204: None, **schema.faults(400, 403, 412)},
    )
    def delete(self, request, **kwargs):
        account, key = self.get_account(), kwargs["key"]
        try:
            metadata_delete(
                account=account,
                key=key,
                actor=actor_for(request.user),
                user=request.user,
                expected_version=conditional.preconditions(request),
            )
        except Metadata.DoesNotExist:
            raise NotFound(f"No metadata {key!r} on {account.key}.") from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class MetadataDetailView(conditional.ConditionalMixin, MetadataEntryMixin, CMSView):
    xml_shape = s.METADATA_DETAIL

    @extend_schema(
        operation_id="getMetadataDetail",
        summary="One metadata entry with who created and last changed it, and when",
        description="Conditional: ETag and Last-Modified; If-None-Match / If-Modified-Since answer 304.",
        parameters=[*KEY_PATH, *conditional.READ_PARAMETERS],
        responses={200: s.MetadataDetailSerializer, **conditional.NOT_MODIFIED, **schema.faults(403, 412)},
    )
    def get(self, request, **kwargs):
        return Response(metadata_detail_to_dict(self.get_entry()))

    def version_of(self, data):
        return metadata_version(self._entry, data)
