"""Contacts, with their addresses, email addresses, phone numbers and roles, declared once.

See accounts/representations.py for what follows from a declaration. `contact_to_dict` reads
`contact.customer`, `addresses`, `email_addresses` and `phone_numbers`: callers load them first
(select_related / prefetch_related); it never queries.
"""

from accounts.models import RCN_RE
from cmsportal import resources as r

from . import phones
from .models import RPN_RE, Address, Contact, EmailAddress, PhoneNumber, Role

__all__ = [
    "OWNED_EXCLUDED",
    "ADDRESS",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "NOTIFICATION_PREFERENCES",
    "CONTACT",
    "RESOURCES",
    "contact_to_dict",
    "address_to_dict",
    "email_address_to_dict",
    "phone_number_to_dict",
]

OWNED_EXCLUDED = {"id": "the database key", "contact": "the contact it belongs to, which holds it"}

ADDRESS = r.Resource(
    "address",
    model=Address,
    function="address_to_dict",
    fields=(
        r.text("street", "street"),
        r.text("city", "city"),
        r.text("state", "state"),
        r.text("zipcode", "zipcode"),
        r.text("country", "country"),
        r.boolean("primary", "primary"),
    ),
    excluded=OWNED_EXCLUDED,
)

EMAIL_ADDRESS = r.Resource(
    "emailAddress",
    model=EmailAddress,
    function="email_address_to_dict",
    fields=(
        r.text("address", "address", required=True),
        r.boolean("primary", "primary"),
    ),
    title="address",
    excluded={**OWNED_EXCLUDED, "address_lower": "generated lower-case copy, for case-insensitive search"},
)

PHONE_NUMBER = r.Resource(
    "phoneNumber",
    model=PhoneNumber,
    function="phone_number_to_dict",
    fields=(
        r.text("number", "number", required=True),
        r.text("country", "country"),
        r.text("mask", "mask"),
        r.boolean("smsVerify", "sms_verify"),
        r.boolean("primary", "primary"),
    ),
    title="number",
    excluded={
        **OWNED_EXCLUDED,
        "digits": "generated search key (the number without separators)",
        "normalized": "derived search key (E.164 when the number parses), set on save",
    },
    derived={"normalized": (phones.search_key, ("number", "country"))},
)

# Read from the contact itself.
NOTIFICATION_PREFERENCES = r.Resource(
    "notificationPreferences",
    fields=(
        r.boolean("doNotFax", "do_not_fax"),
        r.boolean("doNotCall", "do_not_call"),
        r.boolean("doNotEmail", "do_not_email"),
        r.boolean("doNotMail", "do_not_mail"),
        r.boolean("doNotSurvey", "do_not_survey"),
    ),
)

CONTACT = r.Resource(
    "contact",
    model=Contact,
    function="contact_to_dict",
    fields=(
        r.text("contactNumber", "contact_number", required=True, pattern=RPN_RE),
        r.text("rcn", "customer.rcn", pattern=RCN_RE),
        r.text("firstName", "first_name"),
        r.text("lastName", "last_name"),
        r.text("title", "title"),
        r.text("suffix", "suffix"),
        r.text("username", "username"),
        # The roles the contact holds on one account (the API's account in the path); None leaves them
        # out (the exchange format carries roles per account, in `accounts`).
        r.strings(
            "roles", arg="roles", choices=Role, wrap="role", description="The roles held on the account in the path."
        ),
        r.many("addresses", "addresses", ADDRESS, wrap="address"),
        r.many("emailAddresses", "email_addresses", EMAIL_ADDRESS, wrap="emailAddress"),
        r.many("phoneNumbers", "phone_numbers", PHONE_NUMBER, wrap="phoneNumber"),
        r.nested("notificationPreferences", NOTIFICATION_PREFERENCES, required=True),
        r.text("lastUpdatedBy", "last_updated_by"),
        r.date("lastUpdatedDate", "last_updated_date"),
    ),
    csv=("contactNumber", "rcn", "firstName", "lastName", "username", "emailAddresses", "phoneNumbers"),
    excluded={
        "id": "the database key; the RPN identifies a contact",
        "accounts": "the accounts the contact is on, with roles per account: the `roles` argument in the API, "
        "`accounts` in the exchange format",
    },
)

RESOURCES = (CONTACT, ADDRESS, EMAIL_ADDRESS, PHONE_NUMBER)

contact_to_dict = CONTACT.to_dict
address_to_dict = ADDRESS.to_dict
email_address_to_dict = EMAIL_ADDRESS.to_dict
phone_number_to_dict = PHONE_NUMBER.to_dict
