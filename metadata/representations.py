"""Metadata entries (their detail) and namespace policies, declared once.

See accounts/representations.py for what follows from a declaration. An account's entries as a map
(`{"metadata": {key: value}}`) and one entry (`{"meta": {key: value}}`) are keyed maps, not fields:
api/serializers.py describes them.
"""

from cmsportal import resources as r

from .models import KEY_RE, VALUE_MAX_LENGTH, Access, Metadata, Namespace

__all__ = [
    "NAMESPACE_RE",
    "GROUP_NAME_MAX_LENGTH",
    "METADATA_DETAIL",
    "NAMESPACE",
    "RESOURCES",
    "metadata_detail_to_dict",
    "namespace_to_dict",
]

# A namespace name: the part of a key before the colon.
NAMESPACE_RE = r"^[A-Za-z0-9_.\-]+$"
# django.contrib.auth's Group.name.
GROUP_NAME_MAX_LENGTH = 150

METADATA_DETAIL = r.Resource(
    "metadata",
    model=Metadata,
    component="MetadataDetail",
    function="metadata_detail_to_dict",
    fields=(
        r.text("key", "key", required=True, pattern=KEY_RE.pattern),
        r.text("value", "value", required=True, max_length=VALUE_MAX_LENGTH),
        r.text("createdBy", "created_by"),
        r.date("createdDate", "created_date"),
        r.text("lastUpdatedBy", "last_updated_by"),
        r.date("lastUpdatedDate", "last_updated_date"),
    ),
    excluded={
        "id": "the database key; an entry is its account's and key",
        "account": "the entry's account: named by the API path, and by accountType/accountId in the exchange format",
        "account_type": "copy of the account's type, for the metadata filter's index",
        "account_ident": "copy of the account's id, for the metadata filter's index",
        "namespace": "generated from the key (the text before the first colon)",
    },
)

NAMESPACE = r.Resource(
    "namespace",
    model=Namespace,
    function="namespace_to_dict",
    fields=(
        r.text("name", "name", required=True, pattern=NAMESPACE_RE),
        r.choice("access", "access", Access, required=True),
        # Group names, in the order given (the export gives the order they were added).
        r.strings(
            "readers", arg="readers", attr="readers", item_attr="name", max_length=GROUP_NAME_MAX_LENGTH, required=True
        ),
        r.strings(
            "writers", arg="writers", attr="writers", item_attr="name", max_length=GROUP_NAME_MAX_LENGTH, required=True
        ),
    ),
    excluded={"id": "the database key; the name identifies a namespace"},
)

RESOURCES = (METADATA_DETAIL, NAMESPACE)

metadata_detail_to_dict = METADATA_DETAIL.to_dict
namespace_to_dict = NAMESPACE.to_dict
