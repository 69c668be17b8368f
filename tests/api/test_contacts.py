"""Contacts of an account: list, one contact, filters, roles per account, JSON and XML."""

import pytest

from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    AddressFactory,
    ContactFactory,
    EmailAddressFactory,
    PhoneNumberFactory,
)

from .conftest import ATOM, CMS, links, xml

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    account = AccountFactory(account_id="3784384", tenant_id="t-1")
    other = AccountFactory(account_id="7483483", customer=account.customer, tenant_id="t-1")
    mike = ContactFactory(
        contact_number="RPN-000-111-007",
        customer=account.customer,
        first_name="Mike",
        username="john0987",
        do_not_call=True,
        do_not_mail=True,
        title="Mr",
        suffix="Sr",
    )
    AccountContactFactory(account=account, contact=mike, roles=["TECHNICAL"])
    AccountContactFactory(account=other, contact=mike, roles=["BILLING"])
    AddressFactory(contact=mike, street="5000 Walzem Road", primary=True)
    AddressFactory(contact=mike, street="5001 Walzem Road", primary=False)
    EmailAddressFactory(contact=mike, address="Mike.User@Example.com")
    PhoneNumberFactory(contact=mike, number="8374384343", sms_verify=False)
    sarah = ContactFactory(
        contact_number="RPN-000-111-000", customer=account.customer, username="sarah", first_name="Sarah"
    )
    AccountContactFactory(account=account, contact=sarah, roles=["ADMINISTRATIVE", "BILLING"])
    only_other = ContactFactory(contact_number="RPN-000-111-999", customer=account.customer)
    AccountContactFactory(account=other, contact=only_other, roles=["PRIMARY"])
    return account


def numbers(body):
    return [c["contactNumber"] for c in body["contact"]]


def test_list_json(api, account):
    body = api.get("/v1/customer_accounts/CLOUD/3784384/contacts").json()
    assert numbers(body) == ["RPN-000-111-000", "RPN-000-111-007"]
    mike = body["contact"][1]
    assert mike["roles"] == {"role": ["TECHNICAL"]}  # the roles on the account in the path only
    assert mike["link"] == [
        {"rel": "via", "href": "http://testserver/v1/customer_accounts/CLOUD/3784384/contacts/RPN-000-111-007"}
    ]
    assert mike["addresses"]["address"][1] == {
        "street": "5001 Walzem Road",
        **{k: v for k, v in mike["addresses"]["address"][1].items() if k not in ("street", "primary")},
        "primary": False,
    }
    assert mike["notificationPreferences"] == {
        "doNotFax": False,
        "doNotCall": True,
        "doNotEmail": False,
        "doNotMail": True,
        "doNotSurvey": False,
    }
    assert mike["phoneNumbers"]["phoneNumber"][0]["smsVerify"] is False
    assert body["contact"][0]["roles"] == {"role": ["ADMINISTRATIVE", "BILLING"]}
    assert links(body) == {}


def test_list_xml(api, account):
    root = xml(api.get("/v1/customer_accounts/CLOUD/3784384/contacts", HTTP_ACCEPT="application/xml"))
    assert root.tag == f"{CMS}contacts"
    contact = root.findall(f"{CMS}contact")[1]
    assert contact.get("contactNumber") == "RPN-000-111-007" and contact.get("title") == "Mr"
    assert [r.text for r in contact.find(f"{CMS}roles").findall(f"{CMS}role")] == ["TECHNICAL"]
    addresses = contact.find(f"{CMS}addresses").findall(f"{CMS}address")
    assert [a.get("primary") for a in addresses] == ["true", "false"]
    assert contact.find(f"{CMS}emailAddresses/{CMS}emailAddress").get("address") == "Mike.User@Example.com"
    assert contact.find(f"{CMS}phoneNumbers/{CMS}phoneNumber").get("smsVerify") == "false"
    prefs = contact.find(f"{CMS}notificationPreferences")
    assert prefs.get("doNotMail") == "true" and prefs.get("doNotEmail") == "false"
    assert contact.find(f"{ATOM}link").get("rel") == "via"


def test_detail_json_and_xml(api, account):
    body = api.get("/v1/customer_accounts/CLOUD/3784384/contacts/RPN-000-111-007").json()
    assert body["contactNumber"] == "RPN-000-111-007" and body["username"] == "john0987"
    assert "link" not in body
    body = api.get("/v1/customer_accounts/CLOUD/7483483/contacts/RPN-000-111-007").json()
    assert body["roles"] == {"role": ["BILLING"]}
    root = xml(api.get("/v1/customer_accounts/CLOUD/3784384/contacts/RPN-000-111-007.xml"))
    assert root.tag == f"{CMS}contact" and root.get("firstName") == "Mike"


def test_contact_not_on_this_account_is_404(api, account):
    response = api.get("/v1/customer_accounts/CLOUD/3784384/contacts/RPN-000-111-999")
    assert response.status_code == 404 and "notFound" in response.json()
    assert api.get("/v1/customer_accounts/CLOUD/3784384/contacts/RPN-999-999-999").status_code == 404


def test_filters(api, account):
    base = "/v1/customer_accounts/CLOUD/3784384/contacts"
    assert numbers(api.get(f"{base}?role=technical").json()) == ["RPN-000-111-007"]
    # Mike is BILLING on the other account, not on this one.
    assert numbers(api.get(f"{base}?role=BILLING").json()) == ["RPN-000-111-000"]
    assert numbers(api.get(f"{base}?username=sarah").json()) == ["RPN-000-111-000"]
    assert numbers(api.get(f"{base}?username=SARAH").json()) == []
    assert numbers(api.get(f"{base}?emailAddress=mike.user@EXAMPLE.com").json()) == ["RPN-000-111-007"]
    response = api.get(f"{base}?role=boss")
    assert response.status_code == 400 and "badRequest" in response.json()


def test_filters_kept_in_links(api, account):
    body = api.get("/v1/customer_accounts/CLOUD/3784384/contacts?role=billing&limit=1").json()
    assert numbers(body) == ["RPN-000-111-000"]
    assert "next" not in links(body)
    body = api.get("/v1/customer_accounts/CLOUD/3784384/contacts?username=&limit=1").json()
    assert links(body)["next"] == (
        "http://testserver/v1/customer_accounts/CLOUD/3784384/contacts?limit=1&marker=RPN-000-111-007&direction=forward"
    )


def test_tenant_line(tenant_api, account):
    assert tenant_api.get("/v1/customer_accounts/CLOUD/3784384/contacts").status_code == 200
    hidden = AccountFactory(account_id="555", tenant_id="t-9")
    AccountContactFactory(account=hidden)
    assert tenant_api.get("/v1/customer_accounts/CLOUD/555/contacts").status_code == 404


def test_a_filtered_page_holds_each_contacts_own_details_and_roles(api):
    """A page is a range of RPNs; the contacts in that range the filter leaves out lend none of theirs."""
    account = AccountFactory(account_id="880001")
    other = AccountFactory(account_id="880002", customer=account.customer)
    for n, role in enumerate(["BILLING", "TECHNICAL", "BILLING", "TECHNICAL", "BILLING"]):
        contact = ContactFactory(contact_number=f"RPN-880-000-{n:03d}", customer=account.customer)
        AccountContactFactory(account=account, contact=contact, roles=[role])
        AccountContactFactory(account=other, contact=contact, roles=["PRIMARY"])  # not on the account in the path
        AddressFactory(contact=contact, city=f"City {n}")
        EmailAddressFactory(contact=contact, address=f"c{n}@example.com")
        if n % 2 == 0:
            PhoneNumberFactory(contact=contact, number=f"(210) 555-00{n:02d}")
    body = api.get("/v1/customer_accounts/CLOUD/880001/contacts?role=BILLING").json()
    assert [c["contactNumber"] for c in body["contact"]] == ["RPN-880-000-000", "RPN-880-000-002", "RPN-880-000-004"]
    for contact in body["contact"]:
        n = int(contact["contactNumber"][-3:])
        assert contact["roles"] == {"role": ["BILLING"]}
        assert [a["city"] for a in contact["addresses"]["address"]] == [f"City {n}"]
        assert [e["address"] for e in contact["emailAddresses"]["emailAddress"]] == [f"c{n}@example.com"]
        assert [p["number"] for p in contact["phoneNumbers"]["phoneNumber"]] == [f"(210) 555-00{n:02d}"]
    single = api.get("/v1/customer_accounts/CLOUD/880001/contacts/RPN-880-000-001").json()
    assert single["roles"] == {"role": ["TECHNICAL"]} and "phoneNumbers" not in single
    assert api.get("/v1/customer_accounts/CLOUD/880002/contacts/RPN-880-000-001").json()["roles"] == {
        "role": ["PRIMARY"]
    }
