"""The line encoders of the export: row tuples -> the bytes of a record's line (orjson).

The fast path of records.py's `*_record` builders and `record_text`: `*_line` writes a whole record,
`*_object` one object nested in a contact. The exporter reads rows with plain SQL and hands them here.
"""

import orjson

__all__ = [
    "account_history_line",
    "account_line",
    "address_object",
    "contact_account_object",
    "contact_line",
    "customer_line",
    "email_address_object",
    "metadata_line",
    "namespace_line",
    "phone_number_object",
    "rcn_change_line",
    "status_change_line",
]

# The export writes each record's line straight from a row tuple: the representation functions
# (behind records.py's `*_record`) want objects with attributes, and building those, then running
# the records through the JSON module's encoder, cost several times everything else the export
# does. Each `*_line` function returns exactly the UTF-8 bytes of `records.record_text` of the
# record the matching `*_record` function builds from the same row, and a newline
# (tests/exchange/test_lines.py holds them to it): the same keys in the same order, absent (None)
# values left out. orjson writes what `record_text` writes for
# the values rows hold (strings, 64-bit integers, booleans, lists and objects of them): compact
# separators, non-ASCII as UTF-8, the same escapes. Dates arrive as their final text (the form of
# `cmsportal.dates.format_date`): the exporter formats them, on PostgreSQL in its SQL.
#
# Each row holds exactly the record's values, in the order of its keys (for the records of an
# account, those after `accountType` and `accountId`, which come as arguments). The bytes orjson returns
# keep the capacity of its working buffer (kilobytes for a line of a few hundred bytes): callers
# copy them into a larger buffer and drop them, rather than keep thousands. The optional keys are
# spelled out, one `if` each, rather than looped over a table of names: the loop (zip over names and
# values) builds a body 2.3x slower, about 4-5 s of a 1,000,000-account export.

_dumps = orjson.dumps
_LINE = orjson.OPT_APPEND_NEWLINE


def customer_line(row) -> bytes:
    """Row: rcn, name."""
    rcn, name = row
    body = {"rcn": rcn}
    if name is not None:
        body["name"] = name
    return _dumps({"customer": body}, option=_LINE)


def namespace_line(row, readers: list, writers: list) -> bytes:
    """Row: name, access; `readers` and `writers`: group names, in order."""
    name, access = row
    return _dumps({"namespace": {"name": name, "access": access, "readers": readers, "writers": writers}}, option=_LINE)


def account_line(row) -> bytes:
    """Row: id, type, number, rcn (the customer's), name ... lastUpdatedDate, in account_to_dict's order."""
    (
        id_,
        type_,
        number,
        rcn,
        name,
        nickname,
        status,
        tenant_id,
        domain,
        service_level,
        collections_status,
        access_policy,
        parent_account_number,
        created_by,
        created_date,
        last_updated_by,
        last_updated_date,
    ) = row
    body = {"id": id_, "type": type_}
    if number is not None:
        body["number"] = number
    body["rcn"] = rcn
    if name is not None:
        body["name"] = name
    if nickname is not None:
        body["nickname"] = nickname
    if status is not None:
        body["status"] = status
    if tenant_id is not None:
        body["tenantId"] = tenant_id
    if domain is not None:
        body["domain"] = domain
    if service_level is not None:
        body["serviceLevel"] = service_level
    if collections_status is not None:
        body["collectionsStatus"] = collections_status
    if access_policy is not None:
        body["accessPolicy"] = access_policy
    if parent_account_number is not None:
        body["parentAccountNumber"] = parent_account_number
    if created_by is not None:
        body["createdBy"] = created_by
    if created_date is not None:
        body["createdDate"] = created_date
    if last_updated_by is not None:
        body["lastUpdatedBy"] = last_updated_by
    if last_updated_date is not None:
        body["lastUpdatedDate"] = last_updated_date
    return _dumps({"customerAccount": body}, option=_LINE)


def address_object(row) -> dict:
    """Row: street, city, state, zipcode, country, primary."""
    street, city, state, zipcode, country, primary = row
    body = {}
    if street is not None:
        body["street"] = street
    if city is not None:
        body["city"] = city
    if state is not None:
        body["state"] = state
    if zipcode is not None:
        body["zipcode"] = zipcode
    if country is not None:
        body["country"] = country
    body["primary"] = primary
    return body


def email_address_object(row) -> dict:
    """Row: address, primary."""
    address, primary = row
    return {"address": address, "primary": primary}


def phone_number_object(row) -> dict:
    """Row: number, country, mask, smsVerify, primary."""
    number, country, mask, sms_verify, primary = row
    body = {"number": number}
    if country is not None:
        body["country"] = country
    if mask is not None:
        body["mask"] = mask
    body["smsVerify"] = sms_verify
    body["primary"] = primary
    return body


def contact_account_object(account_type: str, account_id: str, roles: list) -> dict:
    """One entry of a contact's `accounts`: the account and the contact's roles on it, in order."""
    return {"type": account_type, "id": account_id, "roles": roles}


def contact_line(row, addresses: list, email_addresses: list, phone_numbers: list, accounts: list) -> bytes:
    """Row: contactNumber, rcn (the customer's), firstName, lastName, title, suffix, username, the five
    notification preferences (doNotFax, doNotCall, doNotEmail, doNotMail, doNotSurvey), lastUpdatedBy,
    lastUpdatedDate. The lists hold the contact's addresses, email addresses, phone numbers (`*_object`)
    and accounts (`contact_account_object`), in order."""
    (
        contact_number,
        rcn,
        first_name,
        last_name,
        title,
        suffix,
        username,
        do_not_fax,
        do_not_call,
        do_not_email,
        do_not_mail,
        do_not_survey,
        last_updated_by,
        last_updated_date,
    ) = row
    body = {"contactNumber": contact_number}
    if rcn is not None:
        body["rcn"] = rcn
    if first_name is not None:
        body["firstName"] = first_name
    if last_name is not None:
        body["lastName"] = last_name
    if title is not None:
        body["title"] = title
    if suffix is not None:
        body["suffix"] = suffix
    if username is not None:
        body["username"] = username
    if addresses:
        body["addresses"] = {"address": addresses}
    if email_addresses:
        body["emailAddresses"] = {"emailAddress": email_addresses}
    if phone_numbers:
        body["phoneNumbers"] = {"phoneNumber": phone_numbers}
    body["notificationPreferences"] = {
        "doNotFax": do_not_fax,
        "doNotCall": do_not_call,
        "doNotEmail": do_not_email,
        "doNotMail": do_not_mail,
        "doNotSurvey": do_not_survey,
    }
    if last_updated_by is not None:
        body["lastUpdatedBy"] = last_updated_by
    if last_updated_date is not None:
        body["lastUpdatedDate"] = last_updated_date
    body["accounts"] = accounts
    return _dumps({"contact": body}, option=_LINE)


def metadata_line(account_type: str, account_id: str, row) -> bytes:
    """Row: key, value, createdBy, createdDate, lastUpdatedBy, lastUpdatedDate."""
    key, value, created_by, created_date, last_updated_by, last_updated_date = row
    body = {"accountType": account_type, "accountId": account_id, "key": key, "value": value}
    if created_by is not None:
        body["createdBy"] = created_by
    if created_date is not None:
        body["createdDate"] = created_date
    if last_updated_by is not None:
        body["lastUpdatedBy"] = last_updated_by
    if last_updated_date is not None:
        body["lastUpdatedDate"] = last_updated_date
    return _dumps({"metadata": body}, option=_LINE)


def status_change_line(account_type: str, account_id: str, row) -> bytes:
    """Row: date, status, username, usertype, collectionsStatus, accessPolicy, fraudStatus."""
    date, status, username, usertype, collections_status, access_policy, fraud_status = row
    body = {"accountType": account_type, "accountId": account_id, "date": date}
    if status is not None:
        body["status"] = status
    if username is not None:
        body["username"] = username
    if usertype is not None:
        body["usertype"] = usertype
    if collections_status is not None:
        body["collectionsStatus"] = collections_status
    if access_policy is not None:
        body["accessPolicy"] = access_policy
    if fraud_status is not None:
        body["fraudStatus"] = fraud_status
    return _dumps({"statusChange": body}, option=_LINE)


def _actor_object(username, type_) -> dict:
    body = {}
    if username is not None:
        body["username"] = username
    if type_ is not None:
        body["type"] = type_
    return body


def account_history_line(account_type: str, account_id: str, row) -> bytes:
    """Row: accountChangeType, rcn, updatedDate, accountStatus, collectionsStatus, nickname, then the
    username and type of `updatedBy` and of `destinationUpdatedBy`."""
    (
        change_type,
        rcn,
        updated_date,
        account_status,
        collections_status,
        nickname,
        updated_by_username,
        updated_by_type,
        destination_username,
        destination_type,
    ) = row
    body = {"accountType": account_type, "accountId": account_id, "accountChangeType": change_type}
    if rcn is not None:
        body["rcn"] = rcn
    if updated_date is not None:
        body["updatedDate"] = updated_date
    if account_status is not None:
        body["accountStatus"] = account_status
    if collections_status is not None:
        body["collectionsStatus"] = collections_status
    if nickname is not None:
        body["nickname"] = nickname
    if updated_by_username is not None or updated_by_type is not None:
        body["updatedBy"] = _actor_object(updated_by_username, updated_by_type)
    if destination_username is not None or destination_type is not None:
        body["destinationUpdatedBy"] = _actor_object(destination_username, destination_type)
    return _dumps({"customerAccountHistory": body}, option=_LINE)


def rcn_change_line(account_type: str, account_id: str, row) -> bytes:
    """Row: accountChangeType, username, rcn, date."""
    change_type, username, rcn, date = row
    body = {"accountType": account_type, "accountId": account_id, "accountChangeType": change_type}
    if username is not None:
        body["username"] = username
    if rcn is not None:
        body["rcn"] = rcn
    if date is not None:
        body["date"] = date
    return _dumps({"accountRCNChange": body}, option=_LINE)
