"""JSON and XML renderers of the CMS API.

Views hand the renderers one neutral structure: the JSON document (dicts, lists, strings, numbers,
booleans) and, for XML, a small *shape* describing how that document maps onto elements. A view
declares its shape as a class attribute (`xml_shape = shapes.ACCOUNT`); a response may carry its
own (`response.xml_shape`, used by faults). The JSON renderer ignores shapes.

XML rules (docs/API.md "Formats"): scalars are attributes, lists are wrapper elements, booleans are
`true`/`false`, every `link` is an Atom element with a lower-case `rel`. Metadata keys and stored
text only ever become attribute values or text, never element names, and characters XML 1.0
cannot carry are replaced by U+FFFD, so no stored value can make rendering fail.
"""

import io
import re
from dataclasses import dataclass, field
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesNSImpl

import orjson
from rest_framework.renderers import BaseRenderer, JSONRenderer

__all__ = [
    "CUSTOMER_NS",
    "ATOM_NS",
    "METADATA_NS",
    "PREFIXES",
    "xml_text",
    "Node",
    "Shape",
    "LINKS",
    "Element",
    "Text",
    "ListOf",
    "KeyedEntries",
    "KeyedEntry",
    "Fault",
    "FAULT",
    "xml_document",
    "shape_for",
    "CMSJSONRenderer",
    "CMSXMLRenderer",
]

CUSTOMER_NS = "http://customer.api.rackspace.com/v1"
ATOM_NS = "http://www.w3.org/2005/Atom"
METADATA_NS = "http://docs.rackspace.com/metadata/api"

# Prefixes for namespaces other than the root's (which is the default namespace).
PREFIXES = {CUSTOMER_NS: "cms", ATOM_NS: "atom", METADATA_NS: "md"}

# Everything outside the XML 1.0 Char production.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value) -> str:
    """A JSON scalar as XML text: booleans lower case, characters XML cannot carry replaced."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML_CHAR.sub("\ufffd", str(value))


@dataclass
class Node:
    """One XML element of a document being built: namespace, local name, attributes, children, text."""

    ns: str
    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list["Node"] = field(default_factory=list)
    text: str | None = None


def _links(links) -> list[Node]:
    return [
        Node(ATOM_NS, "link", {"rel": xml_text(str(link.get("rel", "")).lower()), "href": xml_text(link["href"])})
        for link in links or []
    ]


class Shape:
    """How a JSON value becomes XML; `build` returns the element(s) for `value`."""

    def build(self, value) -> Node:
        raise NotImplementedError


class _Links(Shape):
    """Marks where an Element's Atom links stand among its children."""

    def build(self, value) -> Node:
        raise TypeError("LINKS only marks a position inside an Element's children.")


LINKS = _Links()


@dataclass(frozen=True)
class Element(Shape):
    """A JSON object as one element: scalars are attributes, `children` name the keys that are
    elements of their own, in the order the documents print them; `link` lists become Atom links,
    placed where a `"link": LINKS` entry stands in `children`, or after the other children."""

    name: str
    ns: str = CUSTOMER_NS
    children: dict[str, Shape] = field(default_factory=dict)

    def build(self, value) -> Node:
        node = Node(self.ns, self.name)
        for key, item in value.items():
            if item is None or key == "link" or key in self.children:
                continue
            if isinstance(item, dict | list):
                # Nested values need a declared shape: no key is ever turned into an element name.
                raise TypeError(f"{self.name}.{key} has no XML shape.")
            node.attrs[key] = xml_text(item)
        for key, shape in self.children.items():
            if shape is LINKS:
                node.children.extend(_links(value.get("link")))
            elif value.get(key) is not None:
                node.children.append(shape.build(value[key]))
        if "link" not in self.children:
            node.children.extend(_links(value.get("link")))
        return node


@dataclass(frozen=True)
class Text(Shape):
    """A JSON scalar as an element with text content (`<role>BILLING</role>`)."""

    name: str
    ns: str = CUSTOMER_NS

    def build(self, value) -> Node:
        return Node(self.ns, self.name, text=xml_text(value))


@dataclass(frozen=True)
class ListOf(Shape):
    """A JSON object `{item_key: [...], "link": [...]}` as a wrapper element: links first, then the items."""

    name: str
    item_key: str
    item: Shape
    ns: str = CUSTOMER_NS

    def build(self, value) -> Node:
        node = Node(self.ns, self.name, children=_links(value.get("link")))
        node.children.extend(self.item.build(entry) for entry in value.get(self.item_key) or [])
        return node


@dataclass(frozen=True)
class KeyedEntries(Shape):
    """`{json_key: {"k": "v", ...}}` as `<name><entry key="k">v</entry>...</name>` (metadata)."""

    name: str
    json_key: str
    entry: str
    ns: str = METADATA_NS

    def build(self, value) -> Node:
        node = Node(self.ns, self.name)
        for key, text in (value.get(self.json_key) or {}).items():
            node.children.append(Node(self.ns, self.entry, {"key": xml_text(key)}, text=xml_text(text)))
        return node


@dataclass(frozen=True)
class KeyedEntry(Shape):
    """`{json_key: {"k": "v"}}` as `<name key="k">v</name>` (one metadata entry)."""

    name: str
    json_key: str
    ns: str = METADATA_NS

    def build(self, value) -> Node:
        ((key, text),) = (value.get(self.json_key) or {}).items()
        return Node(self.ns, self.name, {"key": xml_text(key)}, text=xml_text(text))


@dataclass(frozen=True)
class Fault(Shape):
    """`{"badRequest": {"code", "message", "details"}}` as
    `<badRequest code="400"><message>...</message><details>...</details></badRequest>`."""

    ns: str = CUSTOMER_NS

    def build(self, value) -> Node:
        ((name, body),) = value.items()
        node = Node(self.ns, name, {"code": xml_text(body.get("code", ""))})
        for part in ("message", "details"):
            if body.get(part) not in (None, ""):
                node.children.append(Node(self.ns, part, text=xml_text(body[part])))
        return node


FAULT = Fault()


def _namespaces(node: Node, found: set[str]) -> set[str]:
    found.add(node.ns)
    for child in node.children:
        _namespaces(child, found)
    return found


def _write(gen: XMLGenerator, node: Node) -> None:
    attrs = AttributesNSImpl({(None, k): v for k, v in node.attrs.items()}, {(None, k): k for k in node.attrs})
    gen.startElementNS((node.ns, node.name), node.name, attrs)
    if node.text:
        gen.characters(node.text)
    for child in node.children:
        _write(gen, child)
    gen.endElementNS((node.ns, node.name), node.name)


def xml_document(data, shape: Shape) -> bytes:
    """Render `data` as an XML document (UTF-8) following `shape`."""
    root = shape.build(data)
    out = io.StringIO()
    gen = XMLGenerator(out, encoding="utf-8", short_empty_elements=True)
    gen.startDocument()
    others = sorted(_namespaces(root, set()) - {root.ns})
    gen.startPrefixMapping(None, root.ns)
    for ns in others:
        gen.startPrefixMapping(PREFIXES.get(ns, f"ns{others.index(ns)}"), ns)
    _write(gen, root)
    gen.endDocument()
    return out.getvalue().encode("utf-8")


def shape_for(renderer_context) -> Shape | None:
    """The shape of a response: its own (faults), else its view's."""
    context = renderer_context or {}
    response, view = context.get("response"), context.get("view")
    return getattr(response, "xml_shape", None) or getattr(view, "xml_shape", None)


# orjson's types beyond JSON's own (dates, dataclasses, subclasses of str, int, dict and list) go to `default`.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
_LINE_SEPARATORS = ("\u2028".encode(), "\u2029".encode())


class _NotPlain(TypeError):
    pass


def _not_plain(value):
    raise _NotPlain(type(value).__name__)


class CMSJSONRenderer(JSONRenderer):
    """JSON, UTF-8, no escaping of non-ASCII text.

    A view whose documents hold only JSON's own types and no floats says so (`plain_json = True`, every
    CMSView): those are written by orjson, byte for byte what DRF's encoder writes for such documents (compact
    separators, U+2028 and U+2029 escaped) at a tenth of the CPU. Anything else (floats, which the two write
    differently, dates, lazy strings, any other type; an `indent` asked for) is rendered by DRF as before, and
    so is a plain document that orjson refuses (an integer past 64 bits, a lone surrogate)."""

    media_type = "application/json"
    format = "json"
    ensure_ascii = False
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        view = (renderer_context or {}).get("view")
        plain = getattr(view, "plain_json", False) and "indent" not in (accepted_media_type or "")
        if data is not None and plain and (renderer_context or {}).get("indent") is None:
            try:
                ret = orjson.dumps(data, default=_not_plain, option=_ORJSON_OPTIONS)
            except (TypeError, orjson.JSONEncodeError):
                pass
            else:
                if _LINE_SEPARATORS[0] in ret or _LINE_SEPARATORS[1] in ret:
                    ret = ret.replace(_LINE_SEPARATORS[0], b"\\u2028").replace(_LINE_SEPARATORS[1], b"\\u2029")
                return ret
        return super().render(data, accepted_media_type, renderer_context)


class CMSXMLRenderer(BaseRenderer):
    """XML in the namespaces of the CMS reference, driven by the view's (or fault's) shape."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        shape = shape_for(renderer_context)
        if shape is None:
            raise TypeError("This resource declares no XML shape.")
        return xml_document(data, shape)
