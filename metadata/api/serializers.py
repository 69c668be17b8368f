"""Metadata in the CMS API: XML shapes, the PUT body, and the OpenAPI description."""

from rest_framework import serializers
from rest_framework.exceptions import ParseError

from cmsportal.api import schema
from cmsportal.api.renderers import METADATA_NS, Element, KeyedEntries, KeyedEntry

from .. import representations as rep
from ..models import VALUE_MAX_LENGTH

__all__ = [
    "METADATA",
    "META",
    "METADATA_DETAIL",
    "meta_value",
    "MetadataSerializer",
    "MetaSerializer",
    "MetadataDetailSerializer",
]

METADATA = KeyedEntries("metadata", "metadata", "meta")
META = KeyedEntry("meta", "meta")
METADATA_DETAIL = Element("metadataDetail", ns=METADATA_NS)


def meta_value(data) -> str:
    """The value of a PUT body, `{"meta": {"<any name>": "value"}}` (the path names the key); 400 otherwise."""
    meta = data.get("meta") if isinstance(data, dict) else None
    if not isinstance(meta, dict) or len(meta) != 1:
        raise ParseError('The body must be {"meta": {"<key>": "<value>"}} with exactly one entry.')
    (value,) = meta.values()
    if not isinstance(value, str):
        raise ParseError("A metadata value is a string.")
    return value


# OpenAPI descriptions.
class MetadataSerializer(serializers.Serializer):
    metadata = serializers.DictField(child=serializers.CharField(), help_text="Key to value, readable keys only.")


class MetaSerializer(serializers.Serializer):
    meta = serializers.DictField(
        child=serializers.CharField(max_length=VALUE_MAX_LENGTH),
        help_text=f"One entry: key to value (at most {VALUE_MAX_LENGTH} characters; longer is 400).",
    )


MetadataDetailSerializer = schema.serializer_for(rep.METADATA_DETAIL)
