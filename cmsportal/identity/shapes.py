"""The XML form of the identity v2.0 `access` document (the JSON form is authoritative).

<access xmlns="http://docs.openstack.org/identity/api/v2.0">
  <token id="..." expires="...">
    <RAX-AUTH:authenticatedBy><RAX-AUTH:credential>PASSWORD</RAX-AUTH:credential></RAX-AUTH:authenticatedBy>
  </token>
  <user id="..." name="..."><roles><role name="..."/></roles></user>
  <serviceCatalog><service name="customerService" type="rax:customer"><endpoint publicURL="..."/></service>
  </serviceCatalog>
</access>
"""

from dataclasses import dataclass

from cmsportal.api.renderers import Element, Node, Shape, Text

__all__ = ["IDENTITY_NS", "RAX_AUTH_NS", "Items", "Service", "Document", "AUTHENTICATED_BY", "ROLES", "ACCESS"]

IDENTITY_NS = "http://docs.openstack.org/identity/api/v2.0"
RAX_AUTH_NS = "http://docs.rackspace.com/identity/api/ext/RAX-AUTH/v1.0"


@dataclass(frozen=True)
class Items(Shape):
    """A JSON list as a wrapper element holding one element per item."""

    name: str
    item: Shape
    ns: str = IDENTITY_NS

    def build(self, value) -> Node:
        return Node(self.ns, self.name, children=[self.item.build(entry) for entry in value])


@dataclass(frozen=True)
class Service(Shape):
    """A catalog entry: its endpoints are direct children, as identity v2.0 writes them."""

    endpoint: Shape = Element("endpoint", ns=IDENTITY_NS)

    def build(self, value) -> Node:
        node = Element("service", ns=IDENTITY_NS).build({k: v for k, v in value.items() if k != "endpoints"})
        node.children.extend(self.endpoint.build(entry) for entry in value.get("endpoints") or [])
        return node


@dataclass(frozen=True)
class Document(Shape):
    """A document whose JSON form wraps its root in one key (`{"access": {...}}`)."""

    key: str
    root: Shape

    def build(self, value) -> Node:
        return self.root.build(value[self.key])


AUTHENTICATED_BY = Items("authenticatedBy", Text("credential", RAX_AUTH_NS), RAX_AUTH_NS)
ROLES = Items("roles", Element("role", ns=IDENTITY_NS))

ACCESS = Document(
    "access",
    Element(
        "access",
        ns=IDENTITY_NS,
        children={
            "token": Element("token", ns=IDENTITY_NS, children={"RAX-AUTH:authenticatedBy": AUTHENTICATED_BY}),
            "user": Element("user", ns=IDENTITY_NS, children={"roles": ROLES}),
            "serviceCatalog": Items("serviceCatalog", Service()),
        },
    ),
)
