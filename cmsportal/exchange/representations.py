"""The CMS JSON representations the exchange format writes: those the apps declare, re-exported.

Each resource is declared once, in its app (`accounts/representations.py`, `contacts/...`,
`metadata/...`; see `cmsportal.resources`), and its representation function is compiled from the
declaration. The names and signatures are those codec.py calls:

    customer_to_dict(customer) -> dict                       {"rcn", "name"}
    account_to_dict(account) -> dict                         the account object, without `link`
    contact_to_dict(contact, roles=None) -> dict             the contact object, without `link`;
                                                             `roles` (role names on one account) adds
                                                             {"roles": {"role": [...]}}
    status_change_to_dict(status_change) -> dict             statusChange
    account_history_to_dict(history) -> dict                 customerAccountHistory
    rcn_change_to_dict(rcn_change) -> dict                   accountRCNChange
    metadata_detail_to_dict(metadata) -> dict                metadata detail (key, value, created/updated)
    namespace_to_dict(namespace, readers, writers) -> dict   exchange namespace body
"""

from accounts.representations import (
    account_history_to_dict,
    account_to_dict,
    customer_to_dict,
    rcn_change_to_dict,
    status_change_to_dict,
)
from contacts.representations import address_to_dict, contact_to_dict, email_address_to_dict, phone_number_to_dict
from metadata.representations import metadata_detail_to_dict, namespace_to_dict

__all__ = [
    "account_history_to_dict",
    "account_to_dict",
    "address_to_dict",
    "contact_to_dict",
    "customer_to_dict",
    "email_address_to_dict",
    "metadata_detail_to_dict",
    "namespace_to_dict",
    "phone_number_to_dict",
    "rcn_change_to_dict",
    "status_change_to_dict",
]
