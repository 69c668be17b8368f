"""The change feed's documents: the OpenAPI description of its JSON and its XML shape.

XML follows docs/API.md "Formats" (scalars are attributes, the actor an element, links Atom links),
except `before` and `after`: their keys are a representation's and their values may nest, so each is an
element holding the object as JSON text, as an Atom entry's content does.
"""

import json

from rest_framework import serializers

from accounts.api.serializers import LinkSerializer
from accounts.choices import UserType
from cmsportal.api.renderers import CUSTOMER_NS, Element, ListOf, Node, Shape, xml_text

from ..choices import Action, ObjectType

__all__ = ["CHANGES", "ChangeFeedSerializer", "ChangeSerializer", "JSONText", "ChangeActorSerializer"]


class ChangeActorSerializer(serializers.Serializer):
    username = serializers.CharField()
    type = serializers.ChoiceField(UserType.values)


class ChangeSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The change's id, its marker in the feed (decimal digits).")
    time = serializers.DateTimeField()
    requestId = serializers.UUIDField(help_text="Groups the changes of one request, command or import.")
    actor = ChangeActorSerializer()
    objectType = serializers.ChoiceField(ObjectType.values)
    objectKey = serializers.CharField(help_text="The object's natural key (RCN, TYPE/ID, RPN, ...).")
    action = serializers.ChoiceField(Action.values)
    rcn = serializers.CharField(allow_null=True, help_text="The customer the object belonged to.")
    account = serializers.CharField(allow_null=True, help_text="The account (TYPE/ID) the object belonged to.")
    before = serializers.DictField(
        allow_null=True, help_text="Values before the change (the changed keys; everything for a delete)."
    )
    after = serializers.DictField(
        allow_null=True, help_text="Values after the change (the changed keys; everything for a create)."
    )


class ChangeFeedSerializer(serializers.Serializer):
    change = ChangeSerializer(many=True, help_text="Newest first: by transaction, then by id.")
    link = LinkSerializer(
        many=True,
        help_text="current, self, last always; previous (newer changes) and next (older) when there are some.",
    )


class JSONText(Shape):
    """A JSON object as an element whose text is its JSON (`<before>{"status": "Active"}</before>`)."""

    def __init__(self, name: str, ns: str = CUSTOMER_NS):
        self.name, self.ns = name, ns

    def build(self, value) -> Node:
        return Node(self.ns, self.name, text=xml_text(json.dumps(value, ensure_ascii=False, sort_keys=True)))


CHANGE = Element(
    "change", children={"actor": Element("actor"), "before": JSONText("before"), "after": JSONText("after")}
)
CHANGES = ListOf("changes", "change", CHANGE)
