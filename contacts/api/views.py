"""The contacts of an account in the CMS API (the account in the path scopes everything, roles included)."""

from collections import defaultdict

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.api.views import ACCOUNT_PATH, AccountResourceMixin
from cmsportal.api import conditional, schema
from cmsportal.api.filtering import apply_filterset
from cmsportal.api.pagination import ContactPagination, PrecompiledPages
from cmsportal.api.precompiled import PrecompiledQuery, PrecompiledTogether
from cmsportal.api.views import CMSView

from ..filtersets import ContactFilterSet
from ..models import AccountContactRole, Address, Contact, EmailAddress, PhoneNumber, Role
from . import serializers as s

__all__ = [
    "CONTACT_FILTERS",
    "CONTACT_PAGINATION",
    "contacts_of",
    "ContactListView",
    "ContactDetailView",
    "contact_of",
    "load_details",
]

CONTACT_FILTERS = ("role", "username", "emailAddress")


def contacts_of(account):
    """The account's contacts with their customer; `load_details` loads the rest of what their representation
    reads."""
    return Contact.objects.filter(account_links__account=account).select_related("customer")


# What the representation of the account's contacts reads besides the contact row: their addresses, email
# addresses, phone numbers and roles on the account, one fixed-shape query per table, compiled once per connection
# (see PrecompiledQuery) and run as one statement where the database can (PrecompiledTogether), instead of a
# prefetch compiled on every request. A page of contacts is a range of RPNs; for a filtered page the range may
# hold other contacts of the account too, whose rows are read and left unused.
#
# One contact's are selected by its RPN, not by a range from it to itself: PostgreSQL estimates a range of unknown
# bounds as many rows, so a prepared range can be planned anew on every execution (for this statement, about ten
# times as long as it then runs), while a prepared equality keeps one plan.
_NO_ID = -(2**31) + 13
_RANGE = ["\x00low", "\x00high"]
_ONE = ["\x00rpn"]
# The contact's relations the details fill, with their models (the roles come last).
_DETAIL_KINDS = (("addresses", Address), ("email_addresses", EmailAddress), ("phone_numbers", PhoneNumber))


def _details(numbers: list[str]) -> PrecompiledTogether:
    """The details of an account's contacts named by `numbers`: [low, high] (a range of RPNs) or [rpn]."""

    def by_number(path: str, values) -> dict:
        if len(values) == 1:
            return {path: values[0]}
        return {f"{path}__gte": values[0], f"{path}__lte": values[1]}

    def query(model, account: str, number: str, order: tuple, related=()):
        return PrecompiledQuery(
            lambda account_id, *values: model.objects.filter(
                **{account: account_id}, **by_number(number, values)
            ).order_by(*order),
            model,
            placeholders=[_NO_ID, *numbers],
            related=related,
        )

    return PrecompiledTogether(
        *(
            query(model, "contact__account_links__account_id", "contact__contact_number", ("contact_id", "id"))
            for _, model in _DETAIL_KINDS
        ),
        query(AccountContactRole, "link__account_id", "link__contact__contact_number", ("link_id", "id"), ["link"]),
    )


_DETAILS_IN_RANGE = _details(_RANGE)
_DETAILS_OF_ONE = _details(_ONE)
_CONTACT = PrecompiledQuery(
    lambda account_id, number: (
        Contact.objects.filter(account_links__account_id=account_id, contact_number=number)
        .order_by()
        .select_related("customer")
    ),
    Contact,
    placeholders=[_NO_ID, *_ONE],
    related=["customer"],
)


CONTACT_PAGINATION = ContactPagination(filters=CONTACT_FILTERS)
# The default pages of an account's contacts, unfiltered: `contacts_of(account)` as precompiled queries.
_CONTACT_PAGES = PrecompiledPages(
    CONTACT_PAGINATION,
    lambda account_id: Contact.objects.filter(account_links__account_id=account_id).select_related("customer"),
    Contact,
    related=["customer"],
    params=[_NO_ID],
)


def _loaded(model, items: list) -> QuerySet:
    """A queryset already holding `items`, as prefetch_related leaves one (`obj.<relation>.all()` answers it)."""
    queryset = QuerySet(model)
    queryset._result_cache = items
    queryset._prefetch_done = True
    return queryset


def load_details(account, contacts: list[Contact]) -> list[Contact]:
    """Load into `contacts` (contacts of `account`) their addresses, email addresses, phone numbers and roles on
    `account`, where `contact_to_dict` and `roles_here` read them: one statement on PostgreSQL (four queries
    elsewhere), whatever the number of contacts."""
    if not contacts:
        return contacts
    if len(contacts) == 1:
        *details, roles = _DETAILS_OF_ONE.fetch(account.pk, contacts[0].contact_number)
    else:
        numbers = [contact.contact_number for contact in contacts]
        *details, roles = _DETAILS_IN_RANGE.fetch(account.pk, min(numbers), max(numbers))
    for (name, model), found in zip(_DETAIL_KINDS, details, strict=True):
        rows = defaultdict(list)
        for row in found:
            rows[row.contact_id].append(row)
        for contact in contacts:
            contact._prefetched_objects_cache = getattr(contact, "_prefetched_objects_cache", None) or {}
            contact._prefetched_objects_cache[name] = _loaded(model, rows.get(contact.pk, []))
    links = {}
    for role in roles:
        link = links.setdefault(role.link.contact_id, role.link)
        link._prefetched_objects_cache = getattr(link, "_prefetched_objects_cache", None) or {"roles": []}
        link._prefetched_objects_cache["roles"].append(role)
    for link in links.values():
        link._prefetched_objects_cache["roles"] = _loaded(AccountContactRole, link._prefetched_objects_cache["roles"])
    for contact in contacts:
        link = links.get(contact.pk)
        # A link without roles holds none here (the services never leave one, but it reads as no roles).
        contact.links_here = [link] if link is not None else []
    return contacts


def contact_of(account, number: str) -> Contact | None:
    """The account's contact with this RPN, its details loaded (`load_details`), or None."""
    found = _CONTACT.fetch(account.pk, number)
    return load_details(account, found)[0] if found else None


class ContactListView(AccountResourceMixin, CMSView):
    xml_shape = s.CONTACTS
    pagination = CONTACT_PAGINATION

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
        every = contacts_of(account)
        contacts = apply_filterset(ContactFilterSet, request, CONTACT_FILTERS, every, account=account)
        # Unfiltered: the default pages are precompiled.
        precompiled = _CONTACT_PAGES.bound(account.pk) if contacts is every else None
        page = self.pagination.paginate(contacts, request, precompiled=precompiled)
        load_details(account, page.items)
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
        contact = contact_of(account, kwargs["contactNumber"])
        if contact is None:
            raise NotFound(f"No contact {kwargs['contactNumber']} on {account.key}.")
        self._contact = contact
        return Response(s.contact_dict(contact))

    def version_of(self, data):
        # The representation holds the contact's roles on this account and its details: its digest covers them all.
        return conditional.Version(
            conditional.digest(data), self._contact.last_updated_date, self._contact.last_updated_by
        )
