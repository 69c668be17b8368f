"""The change feed as Atom (RFC 4287), in the shape of Rackspace Cloud Feeds.

A `feed` with the page's links (`current`, `self`, `previous`, `next`, `last`, lower case), then one
`entry` per change, newest first: `id` (`urn:uuid:`, the same for a change on every page and every
request), `title` ("account CLOUD/123 updated"), `author/name` (who), `updated` (when), a `category` for
the object type (`objectType:account`) and one for the action (`action:update`), and `content` of type
`application/json` holding the change as the JSON feed shows it (`change_to_dict`).

Faults negotiated as Atom are answered as the API's XML faults (`application/xml`).
"""

import json
import uuid
from datetime import UTC, datetime

from rest_framework.renderers import BaseRenderer

from cmsportal import dates
from cmsportal.api.renderers import ATOM_NS, FAULT, Node, Shape, shape_for, xml_document, xml_text

from ..choices import Action, ObjectType

__all__ = ["ATOM_FEED", "EMPTY_UPDATED", "AtomRenderer", "entry_id", "entry_title", "AtomFeed"]

# Entry ids are name-based UUIDs of the change's id in this namespace (fixed: ids are stable).
ENTRY_NAMESPACE = uuid.UUID("5d0f3c6e-8d1b-4c53-9a43-9f3b7c2e61a4")


# `updated` of a page without changes: the page says nothing of when anything changed (and answers alike
# however often it is asked).
EMPTY_UPDATED = dates.format_date(datetime(1970, 1, 1, tzinfo=UTC))


def entry_id(change_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, f'change:{change_id}')}"


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def entry_title(change: dict) -> str:
    """`account CLOUD/123 updated`: the object's kind and key, and what was done."""
    kind = _label(ObjectType, change["objectType"]).lower()
    return f"{kind} {change['objectKey']} {_label(Action, change['action']).lower()}"


def _text(name: str, value, **attrs) -> Node:
    return Node(ATOM_NS, name, {k: xml_text(v) for k, v in attrs.items()}, text=xml_text(value))


def _link(link: dict) -> Node:
    return Node(ATOM_NS, "link", {"rel": xml_text(str(link["rel"]).lower()), "href": xml_text(link["href"])})


class AtomFeed(Shape):
    """The feed document of `{"change": [...], "link": [...]}`."""

    def build(self, value) -> Node:
        changes = value.get("change") or []
        links = value.get("link") or []
        current = next((link["href"] for link in links if str(link["rel"]).lower() == "current"), "")
        feed = Node(ATOM_NS, "feed")
        feed.children.append(_text("id", f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, current)}"))
        feed.children.append(_text("title", "cmsportal change log", type="text"))
        feed.children.append(_text("updated", changes[0]["time"] if changes else EMPTY_UPDATED))
        feed.children.extend(_link(link) for link in links)
        feed.children.extend(self.entry(change) for change in changes)
        return feed

    def entry(self, change: dict) -> Node:
        entry = Node(ATOM_NS, "entry")
        entry.children.append(_text("id", entry_id(change["id"])))
        entry.children.append(_text("title", entry_title(change), type="text"))
        author = Node(ATOM_NS, "author", children=[_text("name", change["actor"]["username"])])
        entry.children.append(author)
        entry.children.append(_text("updated", change["time"]))
        entry.children.append(Node(ATOM_NS, "category", {"term": xml_text(f"objectType:{change['objectType']}")}))
        entry.children.append(Node(ATOM_NS, "category", {"term": xml_text(f"action:{change['action']}")}))
        content = json.dumps(change, ensure_ascii=False, sort_keys=True)
        entry.children.append(_text("content", content, type="application/json"))
        return entry


ATOM_FEED = AtomFeed()


class AtomRenderer(BaseRenderer):
    """`application/atom+xml`: the feed's pages; a fault is the API's XML fault (`application/xml`)."""

    media_type = "application/atom+xml"
    format = "atom"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if shape_for(renderer_context) is FAULT:
            response = (renderer_context or {}).get("response")
            if response is not None:
                response["Content-Type"] = "application/xml; charset=utf-8"
            return xml_document(data, FAULT)
        return xml_document(data, ATOM_FEED)
