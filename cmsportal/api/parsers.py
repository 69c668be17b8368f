"""Request body parsers of the CMS API (the metadata PUT: JSON or XML by Content-Type).

Both parsers produce the same neutral structure, the JSON form of the body:
`{"meta": {"<key>": "<value>"}}`. The XML form is `<meta xmlns="http://docs.rackspace.com/metadata/api"
key="...">value</meta>` (the key attribute optional: the path names the key). XML is parsed with
defusedxml: no DTDs, no entities, no external references. A body that cannot be parsed is 400;
a Content-Type that no parser accepts is 415 (DRF's UnsupportedMediaType).

JSON is parsed by orjson: strict JSON (no NaN), nesting deeper than 1,024 levels and lone surrogates
(`"\\ud800"`) are 400, and so is a NUL character in any string (PostgreSQL cannot store it). A body
larger than DATA_UPLOAD_MAX_MEMORY_SIZE is 413 `overLimit`: DRF reads API bodies from the stream,
past Django's own check, so the limit is applied here, before anything is read.
"""

from xml.etree.ElementTree import ParseError as XMLSyntaxError

import orjson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser

from .renderers import METADATA_NS

__all__ = ["BodyTooLarge", "read_body", "CMSJSONParser", "parse_xml_safely", "CMSXMLParser"]


class BodyTooLarge(APIException):
    """413 overLimit: the request body is over DATA_UPLOAD_MAX_MEMORY_SIZE."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "overLimit"

    def __init__(self):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(f"The request body is larger than the limit of {limit} bytes.")


def read_body(stream) -> bytes:
    """The whole request body, at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes; BodyTooLarge (413) beyond."""
    if stream is None:
        return b""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(body) > limit:
        raise BodyTooLarge()
    return body


def _holds_nul(value) -> bool:
    """Whether any string (key or value) in a parsed JSON document holds NUL; iterative, as documents nest deep."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class CMSJSONParser(BaseParser):
    """JSON bodies (`application/json`); malformed JSON, too deep nesting, lone surrogates and NUL are 400."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_body(stream)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error: {exc}") from exc
        if _holds_nul(data):
            raise ParseError("A string in the body contains a NUL character, which no value may hold.")
        return data


def parse_xml_safely(stream):
    """The root element of an XML request body; no DTDs, entities or external references. ParseError (400) if bad."""
    body = read_body(stream)
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
