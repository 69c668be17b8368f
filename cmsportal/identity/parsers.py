"""Request bodies of POST /v2.0/tokens: identity v2.0 JSON, and its XML form.

XML:  <auth xmlns="http://docs.openstack.org/identity/api/v2.0">
        <passwordCredentials username="..." password="..."/>
      </auth>
  or  <auth><apiKeyCredentials xmlns="http://docs.rackspace.com/identity/api/ext/RAX-KSKEY/v1.0"
        username="..." apiKey="..."/></auth>
Both become the same dictionary as the JSON body, so the view sees one shape. XML is parsed with
defusedxml: no DTDs, no entities, no external references.
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from cmsportal.api.parsers import CMSJSONParser, parse_xml_safely

__all__ = ["XML_KINDS", "IdentityJSONParser", "IdentityXMLParser", "IdentityTextXMLParser"]

XML_KINDS = {"passwordCredentials": "passwordCredentials", "apiKeyCredentials": "RAX-KSKEY:apiKeyCredentials"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class IdentityJSONParser(CMSJSONParser):
    """JSON bodies, as everywhere in the API."""


class IdentityXMLParser(BaseParser):
    """XML bodies (`application/xml`): an `<auth>` element holding one credentials element."""

    media_type = "application/xml"

    def parse(self, stream, media_type=None, parser_context=None):
        root = parse_xml_safely(stream)
        if _local(root.tag) != "auth":
            raise ParseError("The XML body must be an <auth> element.")
        auth = {}
        for child in root:
            kind = XML_KINDS.get(_local(child.tag))
            if kind:
                auth[kind] = {_local(name): value for name, value in child.attrib.items()}
        return {"auth": auth}


class IdentityTextXMLParser(IdentityXMLParser):
    """The same, sent as `text/xml`."""

    media_type = "text/xml"
