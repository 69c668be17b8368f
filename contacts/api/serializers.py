"""Contacts in the CMS API: JSON from the shared representation, the XML shapes, and the OpenAPI description."""

from rest_framework import serializers

from accounts.api.serializers import LinkSerializer
from cmsportal.api.renderers import LINKS, Element, ListOf, Text
from cmsportal.api.routing import api_url
from cmsportal.exchange.representations import contact_to_dict

from ..models import Role

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
class AddressSerializer(serializers.Serializer):
    street = serializers.CharField(required=False)
    city = serializers.CharField(required=False)
    state = serializers.CharField(required=False)
    zipcode = serializers.CharField(required=False)
    country = serializers.CharField(required=False)
    primary = serializers.BooleanField()


class EmailAddressSerializer(serializers.Serializer):
    address = serializers.CharField()
    primary = serializers.BooleanField()


class PhoneNumberSerializer(serializers.Serializer):
    number = serializers.CharField()
    country = serializers.CharField(required=False)
    mask = serializers.CharField(required=False)
    smsVerify = serializers.BooleanField()
    primary = serializers.BooleanField()


class RolesSerializer(serializers.Serializer):
    role = serializers.ListField(child=serializers.ChoiceField(Role.values))


class AddressesSerializer(serializers.Serializer):
    address = AddressSerializer(many=True)


class EmailAddressesSerializer(serializers.Serializer):
    emailAddress = EmailAddressSerializer(many=True)


class PhoneNumbersSerializer(serializers.Serializer):
    phoneNumber = PhoneNumberSerializer(many=True)


class NotificationPreferencesSerializer(serializers.Serializer):
    doNotFax = serializers.BooleanField()
    doNotCall = serializers.BooleanField()
    doNotEmail = serializers.BooleanField()
    doNotMail = serializers.BooleanField()
    doNotSurvey = serializers.BooleanField()


class ContactSerializer(serializers.Serializer):
    contactNumber = serializers.CharField()
    rcn = serializers.CharField(required=False)
    firstName = serializers.CharField(required=False)
    lastName = serializers.CharField(required=False)
    title = serializers.CharField(required=False)
    suffix = serializers.CharField(required=False)
    username = serializers.CharField(required=False)
    roles = RolesSerializer(help_text="The roles held on the account in the path.")
    addresses = AddressesSerializer(required=False)
    emailAddresses = EmailAddressesSerializer(required=False)
    phoneNumbers = PhoneNumbersSerializer(required=False)
    notificationPreferences = NotificationPreferencesSerializer()
    lastUpdatedBy = serializers.CharField(required=False)
    lastUpdatedDate = serializers.DateTimeField(required=False)


class ContactItemSerializer(ContactSerializer):
    link = LinkSerializer(many=True, help_text="`via`: the contact's URL.")


class ContactListSerializer(serializers.Serializer):
    contact = ContactItemSerializer(many=True)
    link = LinkSerializer(many=True, help_text="`next` and `previous` when records follow/precede.")
