"""Staff pages of contacts: list (filters, sorting, keyset pages, CSV), the contact's page, scoping, budgets."""

import csv
import io

import pytest
from django.db import transaction
from django.test import Client

from cmsportal import pages
from cmsportal.changes.choices import Action, ObjectType
from cmsportal.changes.services import change_record
from cmsportal.identity.access import Actor
from cmsportal.identity.models import TenantGrant
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    AddressFactory,
    ContactFactory,
    CustomerFactory,
    EmailAddressFactory,
    PhoneNumberFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(username="staff", is_staff=True, view_all=True))
    return client


@pytest.fixture
def people():
    customer = CustomerFactory(rcn="RCN-100-100-100")
    account = AccountFactory(customer=customer, account_id="1", tenant_id="t1")
    other_account = AccountFactory(account_id="2", tenant_id="t2")
    specs = [
        ("RPN-000-000-001", "Ada", "Lovelace", "ada", ["PRIMARY"], account),
        ("RPN-000-000-002", "Alan", "Turing", "alan", ["BILLING"], account),
        ("RPN-000-000-003", "Grace", "Hopper", "grace", ["TECHNICAL", "BILLING"], account),
        ("RPN-000-000-004", "Edsger", "Dijkstra", None, ["ADMINISTRATIVE"], other_account),
        ("RPN-000-000-005", None, "Knuth", "don", ["TECHNICAL"], other_account),
    ]
    contacts = {}
    for rpn, first, last, username, roles, acct in specs:
        link = AccountContactFactory(
            account=acct,
            roles=roles,
            contact=ContactFactory(
                contact_number=rpn, first_name=first, last_name=last, username=username, customer=acct.customer
            ),
        )
        contacts[rpn] = link.contact
    EmailAddressFactory(contact=contacts["RPN-000-000-002"], address="Alan.Turing@Example.com")
    PhoneNumberFactory(contact=contacts["RPN-000-000-003"], number="+1 (512) 555-0100")
    return contacts


def rpns(response):
    return [c.contact_number for c in response.context["rows"]]


def csv_rows(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_contact_pages_require_sign_in(client, people):
    for url in ("/contacts/", "/contacts/export.csv", "/contacts/RPN-000-000-001/"):
        assert client.get(url)["Location"].startswith("/login/")


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"role": "billing"}, ["RPN-000-000-002", "RPN-000-000-003"]),
        ({"username": "grace"}, ["RPN-000-000-003"]),
        ({"emailAddress": "alan.turing@example.com"}, ["RPN-000-000-002"]),
        ({"phone": "1-512-555-0100"}, ["RPN-000-000-003"]),
        ({"phone": "+1 (512) 5550100"}, ["RPN-000-000-003"]),
        ({"q": "hop"}, ["RPN-000-000-003"]),
        ({"rcn": "RCN-100-100-100"}, ["RPN-000-000-001", "RPN-000-000-002", "RPN-000-000-003"]),
    ],
)
def test_contact_list_filters_and_csv(staff_client, people, params, expected):
    response = staff_client.get("/contacts/", params)
    assert rpns(response) == expected
    exported = csv_rows(staff_client.get("/contacts/export.csv", params))
    assert exported[0][0] == "contactNumber"
    assert [row[0] for row in exported[1:]] == expected


def test_contact_list_bad_role_is_a_message(staff_client, people):
    response = staff_client.get("/contacts/", {"role": "boss"})
    assert response.status_code == 200
    assert "Unknown role" in response.content.decode()


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("rpn", ["001", "002", "003", "004", "005"]),
        ("-rpn", ["005", "004", "003", "002", "001"]),
        ("name", ["004", "003", "005", "001", "002"]),
        ("username", ["001", "002", "005", "003", "004"]),
        ("-username", ["004", "003", "005", "002", "001"]),
    ],
)
def test_contact_list_sorting_and_paging(staff_client, people, monkeypatch, sort, expected):
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    monkeypatch.setattr(pages, "CSV_BATCH", 2)
    wanted = [f"RPN-000-000-{n}" for n in expected]
    seen = []
    response = staff_client.get("/contacts/", {"sort": sort})
    while True:
        seen += rpns(response)
        if not response.context["next_cursor"]:
            break
        response = staff_client.get("/contacts/", {"sort": sort, "after": response.context["next_cursor"]})
    assert seen == wanted
    assert [row[0] for row in csv_rows(staff_client.get("/contacts/export.csv", {"sort": sort}))[1:]] == wanted


def test_contact_detail(staff_client, people):
    contact = people["RPN-000-000-003"]
    AddressFactory(contact=contact, street="1 Navy Way", city="Arlington")
    contact.do_not_call = True
    contact.save()
    body = staff_client.get(contact.get_absolute_url()).content.decode()
    assert "Grace Hopper" in body
    assert 'href="tel:+15125550100"' in body and "+1 512-555-0100" in body  # one display format
    assert "1 Navy Way" in body
    assert "Technical" in body and "Billing" in body
    assert 'data-copy="RPN-000-000-003"' in body
    assert '<span class="badge badge-bad">No</span> Calls' in body
    assert staff_client.get("/contacts/rpn-000-000-003/").status_code == 200
    assert staff_client.get("/contacts/RPN-999-999-999/").status_code == 404


def test_tenant_user_sees_only_contacts_on_their_accounts(people):
    user = UserFactory(username="t1user")
    TenantGrant.objects.create(user=user, tenant_id="t1")
    client = Client()
    client.force_login(user)
    assert rpns(client.get("/contacts/")) == ["RPN-000-000-001", "RPN-000-000-002", "RPN-000-000-003"]
    assert client.get("/contacts/RPN-000-000-004/").status_code == 404
    assert client.get("/contacts/RPN-000-000-001/").status_code == 200
    exported = [row[0] for row in csv_rows(client.get("/contacts/export.csv"))[1:]]
    assert "RPN-000-000-004" not in exported and len(exported) == 3
    assert rpns(client.get("/contacts/", {"role": "TECHNICAL"})) == ["RPN-000-000-003"]


def test_contact_page_hides_accounts_outside_the_view(people):
    contact = people["RPN-000-000-001"]
    AccountContactFactory(
        contact=contact, account=AccountFactory(customer=contact.customer, account_id="hidden-9", tenant_id="t9")
    )
    user = UserFactory(username="t1user")
    TenantGrant.objects.create(user=user, tenant_id="t1")
    client = Client()
    client.force_login(user)
    body = client.get(contact.get_absolute_url()).content.decode()
    assert "CLOUD/1" in body
    assert "hidden-9" not in body


@pytest.mark.parametrize("rows", [3, 30])
def test_contact_pages_query_budget(staff_client, django_assert_max_num_queries, rows):
    customer = CustomerFactory()
    contact = ContactFactory(customer=customer)
    for _ in range(rows):
        AccountContactFactory(account=AccountFactory(customer=customer), contact=contact, roles=["PRIMARY", "BILLING"])
        other = ContactFactory(customer=customer)
        EmailAddressFactory(contact=other)
        PhoneNumberFactory(contact=other)
        EmailAddressFactory(contact=contact)
        PhoneNumberFactory(contact=contact)
        AddressFactory(contact=contact)
    with transaction.atomic():
        for i in range(rows):
            change_record(
                actor=Actor("tester", "RACKER"),
                object_type=ObjectType.CONTACT,
                object_key=contact.contact_number,
                action=Action.UPDATE,
                rcn=customer.rcn,
                before={"firstName": f"a{i}"},
                after={"firstName": f"b{i}"},
            )
    # 4 of them record the view (pages.record_view); 2 the Changes section (cmsportal.changes.pages)
    with django_assert_max_num_queries(16):
        response = staff_client.get(contact.get_absolute_url())
    assert response.content.decode().count('data-testid="account-row"') == rows
    # The list also reads the person's saved filters of it.
    with django_assert_max_num_queries(9):
        assert len(staff_client.get("/contacts/").context["rows"]) == rows + 1
    with django_assert_max_num_queries(8):
        assert len(csv_rows(staff_client.get("/contacts/export.csv"))) == rows + 2
