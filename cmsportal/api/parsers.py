"""Request body parsers of the CMS API (the metadata PUT: JSON or XML by Content-Type).

Both parsers produce the same neutral structure, the JSON form of the body:
`{"meta": {"<key>": "<value>"}}`. The XML form is `<meta xmlns="http://docs.rackspace.com/metadata/api"
key="...">value</meta>` (the key attribute optional: the path names the key). XML is parsed with
defusedxml: no DTDs, no entities, no external references. A body that cannot be parsed is 400;
a Content-Type that no parser accepts is 415 (DRF's UnsupportedMediaType).
"""

from xml.etree.ElementTree import ParseError as XMLSyntaxError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

from .renderers import METADATA_NS


class CMSJSONParser(JSONParser):
    """JSON bodies (`application/json`); malformed JSON is 400."""

    media_type = "application/json"


def parse_xml_safely(stream):
    """The root element of an XML request body; no DTDs, entities or external references. ParseError (400) if bad."""
    body = stream.read() if stream is not None else b""
    if not body.strip():
        raise ParseError("The request body is empty.")
    try:
        return fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ParseError("XML with DTDs, entities or external references is not accepted.") from exc
    except (XMLSyntaxError, ValueError) as exc:
        raise ParseError(f"XML parse error: {exc}") from exc


class CMSXMLParser(BaseParser):
    """XML bodies (`application/xml`): a single `<meta>` element in the metadata namespace."""

    media_type = "application/xml"

    def parse(self, stream, media_type=None, parser_context=None):
        root = parse_xml_safely(stream)
        if root.tag not in (f"{{{METADATA_NS}}}meta", "meta"):
            raise ParseError(f"Expected a <meta> element in the namespace {METADATA_NS}.")
        if len(root):
            raise ParseError("A <meta> element holds text only.")
        return {"meta": {root.get("key", ""): root.text or ""}}
