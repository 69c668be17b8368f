"""The CMS JSON representations (docs/API.md "Representations"), shared by the API and the exchange format.

Stable functions (the API serializers and the exchange codec both call them; keep names and signatures):

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

Rules they all follow: camelCase keys in a fixed order; absent (NULL) values are omitted, never
`null`; booleans are always present; dates are `cmsportal.dates.format_date` strings (UTC,
milliseconds); `number` and `parentAccountNumber` are integers.

They are pure: they read attributes only and never query. Callers load what they need first:
`account.customer` (select_related), and for contacts `customer`, `addresses`, `email_addresses`
and `phone_numbers` (select_related / prefetch_related). Any object with the same attribute names
works, which is what lets the export feed them rows without building full model instances.
"""

from cmsportal.dates import format_date


def _put(target: dict, key: str, value) -> None:
    if value is not None:
        target[key] = value


def _put_date(target: dict, key: str, value) -> None:
    if value is not None:
        target[key] = format_date(value)


def customer_to_dict(customer) -> dict:
    """A customer: `{"rcn", "name"}` (name omitted when absent)."""
    data = {"rcn": customer.rcn}
    _put(data, "name", customer.name)
    return data


def account_to_dict(account) -> dict:
    """The API account object (without `link`); needs `account.customer` loaded."""
    data = {"id": account.account_id, "type": account.type}
    _put(data, "number", account.number)
    data["rcn"] = account.customer.rcn
    _put(data, "name", account.name)
    _put(data, "nickname", account.nickname)
    _put(data, "status", account.status)
    _put(data, "tenantId", account.tenant_id)
    _put(data, "domain", account.domain)
    _put(data, "serviceLevel", account.service_level)
    _put(data, "collectionsStatus", account.collections_status)
    _put(data, "accessPolicy", account.access_policy)
    _put(data, "parentAccountNumber", account.parent_account_number)
    _put(data, "createdBy", account.created_by)
    _put_date(data, "createdDate", account.created_date)
    _put(data, "lastUpdatedBy", account.last_updated_by)
    _put_date(data, "lastUpdatedDate", account.last_updated_date)
    return data


def address_to_dict(address) -> dict:
    data = {}
    _put(data, "street", address.street)
    _put(data, "city", address.city)
    _put(data, "state", address.state)
    _put(data, "zipcode", address.zipcode)
    _put(data, "country", address.country)
    data["primary"] = address.primary
    return data


def email_address_to_dict(email) -> dict:
    return {"address": email.address, "primary": email.primary}


def phone_number_to_dict(phone) -> dict:
    data = {"number": phone.number}
    _put(data, "country", phone.country)
    _put(data, "mask", phone.mask)
    data["smsVerify"] = phone.sms_verify
    data["primary"] = phone.primary
    return data


def contact_to_dict(contact, roles=None) -> dict:
    """The API contact object (without `link`).

    `roles`: the role names the contact holds on the account being shown; None leaves `roles` out
    (the exchange format carries roles per account instead). Empty address, email and phone lists
    are omitted, as in the reference's examples.
    """
    data = {"contactNumber": contact.contact_number}
    customer = contact.customer
    if customer is not None:
        data["rcn"] = customer.rcn
    _put(data, "firstName", contact.first_name)
    _put(data, "lastName", contact.last_name)
    _put(data, "title", contact.title)
    _put(data, "suffix", contact.suffix)
    _put(data, "username", contact.username)
    if roles is not None:
        data["roles"] = {"role": list(roles)}
    addresses = [address_to_dict(a) for a in contact.addresses.all()]
    if addresses:
        data["addresses"] = {"address": addresses}
    emails = [email_address_to_dict(e) for e in contact.email_addresses.all()]
    if emails:
        data["emailAddresses"] = {"emailAddress": emails}
    phones = [phone_number_to_dict(p) for p in contact.phone_numbers.all()]
    if phones:
        data["phoneNumbers"] = {"phoneNumber": phones}
    data["notificationPreferences"] = {
        "doNotFax": contact.do_not_fax,
        "doNotCall": contact.do_not_call,
        "doNotEmail": contact.do_not_email,
        "doNotMail": contact.do_not_mail,
        "doNotSurvey": contact.do_not_survey,
    }
    _put(data, "lastUpdatedBy", contact.last_updated_by)
    _put_date(data, "lastUpdatedDate", contact.last_updated_date)
    return data


def status_change_to_dict(status_change) -> dict:
    """One statusChange entry."""
    data = {"date": format_date(status_change.date)}
    _put(data, "status", status_change.status)
    _put(data, "username", status_change.username)
    _put(data, "usertype", status_change.usertype)
    _put(data, "collectionsStatus", status_change.collections_status)
    _put(data, "accessPolicy", status_change.access_policy)
    _put(data, "fraudStatus", status_change.fraud_status)
    return data


def _actor(username, type_) -> dict | None:
    if username is None and type_ is None:
        return None
    data = {}
    _put(data, "username", username)
    _put(data, "type", type_)
    return data


def account_history_to_dict(history) -> dict:
    """One customerAccountHistory entry; `updatedBy`/`destinationUpdatedBy` are `{username, type}`."""
    data = {"accountChangeType": history.change_type}
    _put(data, "rcn", history.rcn)
    _put_date(data, "updatedDate", history.updated_date)
    _put(data, "accountStatus", history.account_status)
    _put(data, "collectionsStatus", history.collections_status)
    _put(data, "nickname", history.nickname)
    _put(data, "updatedBy", _actor(history.updated_by_username, history.updated_by_type))
    _put(
        data,
        "destinationUpdatedBy",
        _actor(history.destination_updated_by_username, history.destination_updated_by_type),
    )
    return data


def rcn_change_to_dict(rcn_change) -> dict:
    """One accountRCNChange entry."""
    data = {"accountChangeType": rcn_change.change_type}
    _put(data, "username", rcn_change.username)
    _put(data, "rcn", rcn_change.rcn)
    _put_date(data, "date", rcn_change.date)
    return data


def metadata_detail_to_dict(metadata) -> dict:
    """The metadata detail object: key, value, createdBy, createdDate, lastUpdatedBy, lastUpdatedDate."""
    data = {"key": metadata.key, "value": metadata.value}
    _put(data, "createdBy", metadata.created_by)
    _put_date(data, "createdDate", metadata.created_date)
    _put(data, "lastUpdatedBy", metadata.last_updated_by)
    _put_date(data, "lastUpdatedDate", metadata.last_updated_date)
    return data


def namespace_to_dict(namespace, readers, writers) -> dict:
    """A namespace policy with its reader and writer group names (lists, in the order given)."""
    return {"name": namespace.name, "access": namespace.access, "readers": list(readers), "writers": list(writers)}
