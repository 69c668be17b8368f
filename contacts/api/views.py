"""The contacts of an account in the CMS API (the account in the path scopes everything, roles included)."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.api.views import ACCOUNT_PATH, AccountResourceMixin
from cmsportal.api import conditional, schema
from cmsportal.api.filtering import apply_filterset
from cmsportal.api.pagination import ContactPagination
from cmsportal.api.views import CMSView

from ..filtersets import ContactFilterSet
from ..models import AccountContact, Contact, Role
from . import serializers as s

__all__ = ["CONTACT_FILTERS", "contacts_of", "ContactListView", "ContactDetailView"]

CONTACT_FILTERS = ("role", "username", "emailAddress")


def contacts_of(account):
    """The account's contacts, with everything their representation reads loaded in a fixed number of queries."""
    links_here = AccountContact.objects.filter(account=account).prefetch_related("roles")
    return (
        Contact.objects.filter(account_links__account=account)
        .select_related("customer")
        .prefetch_related(
            "addresses",
            "email_addresses",
            "phone_numbers",
            Prefetch("account_links", queryset=links_here, to_attr="links_here"),
        )
    )


class ContactListView(AccountResourceMixin, CMSView):
    xml_shape = s.CONTACTS
    pagination = ContactPagination(filters=CONTACT_FILTERS)

    @extend_schema(
        operation_id="listContacts",
        summary="Contacts of a customer account",
        parameters=[
            *ACCOUNT_PATH,
            OpenApiParameter("role", str, enum=Role.values, description="Contacts holding this role on the account."),
            OpenApiParameter("username", str, description="The contact with exactly this username."),
            OpenApiParameter("emailAddress", str, description="Contacts with this email address (any case)."),
            schema.marker("First contact to list, an RPN (need not exist)."),
            schema.LIMIT,
            schema.OFFSET,
            schema.DIRECTION,
        ],
        responses={200: s.ContactListSerializer, **schema.faults(400)},
    )
    def get(self, request, **kwargs):
        account = self.get_account()
        contacts = apply_filterset(ContactFilterSet, request, CONTACT_FILTERS, contacts_of(account), account=account)
        page = self.pagination.paginate(contacts, request)
        return Response({"contact": [s.contact_item(request, account, c) for c in page.items], "link": page.links})


class ContactDetailView(conditional.ConditionalMixin, AccountResourceMixin, CMSView):
    xml_shape = s.CONTACT

    @extend_schema(
        operation_id="getContact",
        summary="One contact of a customer account",
        parameters=[
            *ACCOUNT_PATH,
            OpenApiParameter("contactNumber", str, OpenApiParameter.PATH, description="The contact's RPN."),
            *conditional.READ_PARAMETERS,
        ],
        description="Conditional: ETag and Last-Modified; If-None-Match / If-Modified-Since answer 304.",
        responses={200: s.ContactSerializer, **conditional.NOT_MODIFIED, **schema.faults(412)},
    )
    def get(self, request, **kwargs):
        account = self.get_account()
        contact = contacts_of(account).filter(contact_number=kwargs["contactNumber"]).first()
        if contact is None:
            raise NotFound(f"No contact {kwargs['contactNumber']} on {account.key}.")
        self._contact = contact
        return Response(s.contact_dict(contact))

    def version_of(self, data):
        # The representation holds the contact's roles on this account and its details: its digest covers them all.
        return conditional.Version(
            conditional.digest(data), self._contact.last_updated_date, self._contact.last_updated_by
        )
