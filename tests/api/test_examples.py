"""The documented examples (tests/api/examples, from the public reference), reproduced through the API.

Each test builds the example's data, calls the API and compares: JSON exactly (links aside, since
their host and markers differ; API.md's settled contradictions applied), XML by namespace URI,
local name, attributes, text and children (children in any order; Atom links aside).
"""

import json
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring as safe_xml

from cmsportal.dates import parse_date
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    AccountHistoryFactory,
    AddressFactory,
    ContactFactory,
    CustomerFactory,
    EmailAddressFactory,
    MetadataFactory,
    PhoneNumberFactory,
    RCNChangeFactory,
    StatusChangeFactory,
)

from .conftest import ATOM, xml

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).parent / "examples"


def example_json(name):
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def example_xml(name):
    return safe_xml((EXAMPLES / f"{name}.xml").read_bytes())


def without_links(value):
    if isinstance(value, dict):
        return {k: without_links(v) for k, v in value.items() if k != "link"}
    if isinstance(value, list):
        return [without_links(v) for v in value]
    return value


def canonical(element):
    """An element as comparable data: (tag with namespace, attributes, text, sorted children); Atom links left out."""
    children = sorted(canonical(child) for child in element if child.tag != f"{ATOM}link")
    return (element.tag, tuple(sorted(element.attrib.items())), (element.text or "").strip(), tuple(children))


def assert_same_xml(ours, expected):
    assert canonical(ours) == canonical(expected)


def make_account(data, customer=None):
    return AccountFactory(
        type=data["type"],
        account_id=data["id"],
        number=data.get("number"),
        customer=customer or CustomerFactory(rcn=data["rcn"]),
        name=data.get("name"),
        nickname=data.get("nickname"),
        status=data.get("status"),
        tenant_id=data.get("tenantId"),
        domain=data.get("domain"),
        service_level=data.get("serviceLevel"),
        collections_status=data.get("collectionsStatus"),
        access_policy=data.get("accessPolicy"),
        parent_account_number=data.get("parentAccountNumber"),
        last_updated_by=data.get("lastUpdatedBy"),
        last_updated_date=parse_date(data["lastUpdatedDate"]) if "lastUpdatedDate" in data else None,
    )


@pytest.mark.parametrize("kind", ["cloud", "faws", "managed-hosting"])
def test_get_customer_account(api, kind):
    name = f"get-customer-account-response-{kind}"
    expected = example_json(name)  # the FAWS example's repeated domain: the second value wins
    make_account(expected)
    path = f"/v1/customer_accounts/{expected['type']}/{expected['id']}"
    assert api.get(path).json() == expected
    assert_same_xml(xml(api.get(f"{path}.xml")), example_xml(name))


def test_get_customer_accounts(api):
    expected = example_json("get-customer-accounts-response")
    for item in expected["customerAccount"]:
        make_account(item, customer=CustomerFactory(rcn=item["rcn"]))
    body = api.get("/v1/customer_accounts").json()
    by_key = {(a["type"], a["id"]): a for a in body["customerAccount"]}
    assert {(a["type"], a["id"]): a for a in without_links(expected)["customerAccount"]} == without_links(by_key)
    for item in body["customerAccount"]:
        (via,) = item["link"]
        assert (
            via["rel"] == "via" and via["href"] == f"http://testserver/v1/customer_accounts/{item['type']}/{item['id']}"
        )
    # The order is the marker order (type, id), which the example does not follow.
    assert [(a["type"], a["id"]) for a in body["customerAccount"]] == sorted(by_key)
    # The XML example disagrees with its JSON on names; compare its structure and identities.
    ours = xml(api.get("/v1/customer_accounts.xml"))
    theirs = example_xml("get-customer-accounts-response")
    assert ours.tag == theirs.tag
    mine = {(a.get("type"), a.get("id")): a for a in ours if a.tag != f"{ATOM}link"}
    # (The example's own top-level links lack the Atom namespace; API.md puts every link in it.)
    for account in (a for a in theirs if not a.tag.endswith("link")):
        match = mine[(account.get("type"), account.get("id"))]
        # The XML example leaves out the parentAccountNumber its JSON has.
        assert match.tag == account.tag and set(account.attrib) <= set(match.attrib)
        for attribute in ("rcn", "status", "tenantId", "domain", "serviceLevel", "lastUpdatedDate"):
            assert match.get(attribute) == account.get(attribute)
        assert match.find(f"{ATOM}link").get("rel") == "via"
    assert {link.get("rel") for link in ours.findall(f"{ATOM}link")} <= {"current", "self", "last", "next", "previous"}


@pytest.fixture
def example_account():
    return AccountFactory(type="CLOUD", account_id="3784384")


def test_status_history(api, example_account):
    expected = example_json("get-customer-account-status-history-response")
    for entry in reversed(expected["statusChange"]):
        StatusChangeFactory(
            account=example_account,
            date=parse_date(entry["date"]),
            status=entry.get("status"),
            username=entry.get("username"),
            usertype=entry.get("usertype"),
            collections_status=entry.get("collectionsStatus"),
            access_policy=entry.get("accessPolicy"),
            fraud_status=entry.get("fraudStatus"),
        )
    path = "/v1/customer_account/CLOUD/3784384/status_history"
    assert api.get(path).json() == expected
    assert_same_xml(xml(api.get(f"{path}.xml")), example_xml("get-customer-account-status-history-response"))


def test_customer_history(api, example_account):
    expected = example_json("get-customer-history-response")
    for entry in expected["accountRCNChange"]:
        RCNChangeFactory(
            account=example_account,
            change_type=entry["accountChangeType"],
            username=entry["username"],
            rcn=entry["rcn"],
            date=parse_date(entry["date"]),
        )
    path = "/v1/customer_accounts/CLOUD/3784384/customer_history"
    assert api.get(path).json() == expected
    theirs = example_xml("get-customer-history-response")
    for change in theirs:  # the example's capital A is a typo (API.md)
        change.set("accountChangeType", change.attrib.pop("AccountChangeType"))
    assert_same_xml(xml(api.get(f"{path}.xml")), theirs)


def test_account_history(api, example_account):
    expected = example_json("get-customer-account-history-response")
    for entry in expected["customerAccountHistory"]:
        updated_by = entry.get("updatedBy") or {}
        destination = entry.get("destinationUpdatedBy") or {}
        AccountHistoryFactory(
            account=example_account,
            change_type=entry["accountChangeType"],
            rcn=entry.get("rcn"),
            updated_date=parse_date(entry["updatedDate"]),
            account_status=entry.get("accountStatus"),
            collections_status=entry.get("collectionsStatus"),
            nickname=entry.get("nickname"),
            updated_by_username=updated_by.get("username"),
            updated_by_type=updated_by.get("type"),
            destination_updated_by_username=destination.get("username"),
            destination_updated_by_type=destination.get("type"),
        )
    path = "/v1/customer_accounts/CLOUD/3784384/history"
    assert api.get(path).json() == expected
    assert_same_xml(xml(api.get(f"{path}.xml")), example_xml("get-customer-account-history-response"))


def test_metadata_examples(api, example_account):
    listing = example_json("get-all-metadata-for-resource-response")
    for key, value in listing["metadata"].items():
        MetadataFactory(account=example_account, key=key, value=value)
    MetadataFactory(account=example_account, key="some:key", value="Some Value")
    detail = example_json("get-detail-for-specific-metadata-response")
    MetadataFactory(
        account=example_account,
        key=detail["key"],
        value=detail["value"],
        created_by=detail["createdBy"],
        created_date=parse_date(detail["createdDate"]),
        last_updated_by=detail["lastUpdatedBy"],
        last_updated_date=parse_date(detail["lastUpdatedDate"]),
    )
    base = "/v1/customer_accounts/CLOUD/3784384/metadata"
    assert api.get(f"{base}/some:key").json() == example_json("get-specific-metadata-response")
    assert_same_xml(xml(api.get(f"{base}/some:key.xml")), example_xml("get-specific-metadata-response"))
    assert api.get(f"{base}/{detail['key']}/detail").json() == detail
    assert_same_xml(
        xml(api.get(f"{base}/{detail['key']}/detail.xml")), example_xml("get-detail-for-specific-metadata-response")
    )
    # The listing example holds two keys; the account here holds four.
    body = api.get(base).json()
    assert {k: v for k, v in body["metadata"].items() if k in listing["metadata"]} == listing["metadata"]
    ours = xml(api.get(f"{base}.xml"))
    theirs = example_xml("get-all-metadata-for-resource-response")
    for meta in [m for m in ours if m.get("key") not in listing["metadata"]]:
        ours.remove(meta)
    assert_same_xml(ours, theirs)


def test_update_metadata_request_examples(api, example_account):
    base = "/v1/customer_accounts/CLOUD/3784384/metadata/some:key"
    body = (EXAMPLES / "update-specific-metadata-request.json").read_text()
    assert api.put(base, body, content_type="application/json").status_code == 204
    assert api.get(base).json() == {"meta": {"some:key": "Some Value"}}
    body = (EXAMPLES / "update-specific-metadata-request.xml").read_bytes()
    assert api.put(f"{base}2", body, content_type="application/xml").status_code == 204
    assert api.get(f"{base}2").json() == {"meta": {"some:key2": "Some Value"}}


def make_contact(data, account):
    contact = ContactFactory(
        contact_number=data["contactNumber"],
        customer=CustomerFactory(rcn=data["rcn"]),
        first_name=data.get("firstName"),
        last_name=data.get("lastName"),
        title=data.get("title"),
        suffix=data.get("suffix"),
        username=data.get("username"),
        last_updated_by=data.get("lastUpdatedBy"),
        last_updated_date=parse_date(data["lastUpdatedDate"]) if "lastUpdatedDate" in data else None,
        **{
            field: data["notificationPreferences"][key]
            for field, key in (
                ("do_not_fax", "doNotFax"),
                ("do_not_call", "doNotCall"),
                ("do_not_email", "doNotEmail"),
                ("do_not_mail", "doNotMail"),
                ("do_not_survey", "doNotSurvey"),
            )
        },
    )
    AccountContactFactory(account=account, contact=contact, roles=data["roles"]["role"])
    for address in data.get("addresses", {}).get("address", []):
        AddressFactory(contact=contact, **{"primary": False, **address})
    for email in data.get("emailAddresses", {}).get("emailAddress", []):
        EmailAddressFactory(contact=contact, **email)
    for phone in data.get("phoneNumbers", {}).get("phoneNumber", []):
        PhoneNumberFactory(
            contact=contact,
            number=phone["number"],
            country=phone.get("country"),
            mask=phone.get("mask"),
            sms_verify=phone["smsVerify"],
            primary=phone["primary"],
        )
    return contact


def settle_contact_json(data):
    """API.md: booleans are always present (the examples drop `primary` on a non-primary address)."""
    for address in data.get("addresses", {}).get("address", []):
        address.setdefault("primary", False)
    return data


def settle_contact_xml(element, prefs_json):
    """API.md: the XML examples swap doNotMail/doNotEmail against the JSON, and the JSON is right."""
    cms = element.tag.split("}")[0] + "}"
    for address in element.iter(f"{cms}address"):
        address.attrib.setdefault("primary", "false")
    prefs = element.find(f"{cms}notificationPreferences")
    for key, value in prefs_json.items():
        prefs.set(key, "true" if value else "false")


def test_get_a_contact(api, example_account):
    expected = example_json("get-a-contact-response")
    make_contact(expected, example_account)
    path = "/v1/customer_accounts/CLOUD/3784384/contacts/RPN-823-034-233"
    assert api.get(path).json() == settle_contact_json(expected)
    theirs = example_xml("get-a-contact-response")
    settle_contact_xml(theirs, expected["notificationPreferences"])
    assert_same_xml(xml(api.get(f"{path}.xml")), theirs)


def test_get_contacts(api, example_account):
    expected = example_json("get-contacts-response")
    for item in expected["contact"]:
        make_contact(item, example_account)
    body = api.get("/v1/customer_accounts/CLOUD/3784384/contacts").json()
    ours = {c["contactNumber"]: c for c in body["contact"]}
    theirs = {c["contactNumber"]: settle_contact_json(c) for c in without_links(expected)["contact"]}
    assert without_links(ours) == theirs
    assert [c["contactNumber"] for c in body["contact"]] == sorted(ours)
    for number, contact in ours.items():
        assert contact["link"] == [
            {"rel": "via", "href": f"http://testserver/v1/customer_accounts/CLOUD/3784384/contacts/{number}"}
        ]
    root = xml(api.get("/v1/customer_accounts/CLOUD/3784384/contacts.xml"))
    theirs_xml = example_xml("get-contacts-response")
    for contact in theirs_xml.findall(f"{root.tag.split('}')[0]}}}contact"):
        settle_contact_xml(contact, theirs[contact.get("contactNumber")]["notificationPreferences"])
    assert_same_xml(root, theirs_xml)
