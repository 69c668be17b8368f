"""Contacts in the CMS API: JSON from the declared representation, the XML shapes, and the OpenAPI description."""

from rest_framework import serializers

from accounts.api.serializers import LinkSerializer
from cmsportal.api import schema
from cmsportal.api.renderers import LINKS, Element, ListOf, Text
from cmsportal.api.routing import api_url

from .. import representations as rep
from ..representations import contact_to_dict

__all__ = [
    "CONTACT",
    "CONTACTS",
    "roles_here",
    "contact_dict",
    "contact_item",
    "ContactSerializer",
    "ContactItemSerializer",
    "ContactListSerializer",
]

CONTACT = Element(
    "contact",
    # The order of the reference's XML examples: details, roles, the via link, preferences.
    children={
        "addresses": ListOf("addresses", "address", Element("address")),
        "emailAddresses": ListOf("emailAddresses", "emailAddress", Element("emailAddress")),
        "phoneNumbers": ListOf("phoneNumbers", "phoneNumber", Element("phoneNumber")),
        "roles": ListOf("roles", "role", Text("role")),
        "link": LINKS,
        "notificationPreferences": Element("notificationPreferences"),
    },
)
CONTACTS = ListOf("contacts", "contact", CONTACT)


def roles_here(contact) -> list[str]:
    """The roles the contact holds on the account in the path (prefetched as `links_here`)."""
    return [role.role for link in contact.links_here for role in link.roles.all()]


def contact_dict(contact) -> dict:
    return contact_to_dict(contact, roles=roles_here(contact))


def contact_item(request, account, contact) -> dict:
    """A contact as a list item: the contact object plus its `via` link."""
    url = api_url(request, "customer_accounts", account.type, account.account_id, "contacts", contact.contact_number)
    return {**contact_dict(contact), "link": [{"rel": "via", "href": url}]}


# OpenAPI descriptions.
# `roles` is always there: the views always pass the roles held on the account in the path.
ContactSerializer = schema.serializer_for(rep.CONTACT, always=("roles",))


class ContactItemSerializer(ContactSerializer):
    link = LinkSerializer(many=True, help_text="`via`: the contact's URL.")


class ContactListSerializer(serializers.Serializer):
    contact = ContactItemSerializer(many=True)
    link = LinkSerializer(many=True, help_text="`next` and `previous` when records follow/precede.")
