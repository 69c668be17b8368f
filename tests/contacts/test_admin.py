"""Contact admin: search on every identifier, role filter, bounded queries, saves through contacts.services."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import AccountContact, Address, Contact, EmailAddress, PhoneNumber
from tests.admin_helpers import add_inline_row, changeform_data, changelist_rows, inline_prefix
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

CHANGELIST = reverse("admin:contacts_contact_changelist")


def change_url(contact):
    return reverse("admin:contacts_contact_change", args=[contact.pk])


@pytest.fixture
def client(client, db):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def people(db):
    acme = CustomerFactory(rcn="RCN-111-222-333", name="Acme Hosting")
    account = AccountFactory(customer=acme, account_id="10101")
    john = ContactFactory(
        contact_number="RPN-823-034-233", customer=acme, first_name="John", last_name="Doe", username="john0982"
    )
    EmailAddressFactory(contact=john, address="John.User@Example.com")
    PhoneNumberFactory(contact=john, number="(210) 312-4600")
    AccountContactFactory(account=account, contact=john, roles=["BILLING"])
    jane = ContactFactory(
        contact_number="RPN-100-200-300", customer=CustomerFactory(rcn="RCN-444-555-666"), first_name="Jane",
        last_name="Roe", username="jroe",
    )  # fmt: skip
    EmailAddressFactory(contact=jane, address="jane@globex.example.com")
    PhoneNumberFactory(contact=jane, number="+44 20 7946 0958", country="GB")
    AccountContactFactory(account=AccountFactory(customer=jane.customer), contact=jane, roles=["TECHNICAL", "PRIMARY"])
    return {"john": john, "jane": jane, "account": account}


def numbers(response):
    return sorted(contact.contact_number for contact in changelist_rows(response))


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("RPN-823-034-233", ["RPN-823-034-233"]),
        ("john0982", ["RPN-823-034-233"]),
        ("doe", ["RPN-823-034-233"]),
        ("jane", ["RPN-100-200-300"]),
        ("john.user@example.com", ["RPN-823-034-233"]),  # any case
        ("RCN-444-555-666", ["RPN-100-200-300"]),
        ("Acme Hosting", ["RPN-823-034-233"]),
        ("2103124600", ["RPN-823-034-233"]),  # digits of "(210) 312-4600"
        ("+1 210.312.4600", ["RPN-823-034-233"]),
        ("7946 0958", ["RPN-100-200-300"]),
        ("nobody", []),
    ],
)
def test_contact_search(client, people, term, expected):
    response = client.get(CHANGELIST, {"q": term})
    assert response.status_code == 200
    assert numbers(response) == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [("BILLING", ["RPN-823-034-233"]), ("PRIMARY", ["RPN-100-200-300"]), ("ADMINISTRATIVE", [])],
)
def test_role_filter(client, people, role, expected):
    assert numbers(client.get(CHANGELIST, {"role": role})) == expected


def test_changelist_queries_do_not_grow(client, people):
    client.get(CHANGELIST)  # warm the content-type cache
    with CaptureQueriesContext(connection) as few:
        client.get(CHANGELIST, {"q": "RPN"})
    for _ in range(15):
        ContactFactory()
    with CaptureQueriesContext(connection) as many:
        response = client.get(CHANGELIST, {"q": "RPN"})
    assert len(changelist_rows(response)) == 17
    assert len(many) == len(few)


def test_change_page_queries_do_not_grow(client, people):
    john = people["john"]
    client.get(change_url(john))  # warm the content-type cache
    with CaptureQueriesContext(connection) as few:
        assert client.get(change_url(john)).status_code == 200
    for _ in range(5):
        AddressFactory(contact=john)
        EmailAddressFactory(contact=john)
        AccountContactFactory(account=AccountFactory(customer=john.customer), contact=john, roles=["TECHNICAL"])
    with CaptureQueriesContext(connection) as many:
        assert client.get(change_url(john)).status_code == 200
    assert len(many) == len(few)


def test_add_contact_goes_through_contact_create(client, people):
    url = reverse("admin:contacts_contact_add")
    data = changeform_data(client.get(url))
    data.update(contact_number="RPN-000-000-001", customer=str(people["john"].customer_id), first_name="Ann")
    data["do_not_call"] = "on"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    ann = Contact.objects.get(contact_number="RPN-000-000-001")
    assert (ann.first_name, ann.do_not_call, ann.last_updated_by) == ("Ann", True, "boss")


def test_edit_contact_and_replace_children_through_services(client, people):
    john = people["john"]
    response = client.get(change_url(john))
    data = changeform_data(response)
    data["last_name"] = "Dough"
    emails = inline_prefix(response, EmailAddress)
    data[f"{emails}-0-DELETE"] = "on"
    add_inline_row(data, emails, address="john@new.example.com", primary="on")
    phones = inline_prefix(response, PhoneNumber)
    data[f"{phones}-0-number"] = "+1 210.312.4601"
    add_inline_row(data, inline_prefix(response, Address), street="1 Main St", city="Austin")
    response = client.post(change_url(john), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    john.refresh_from_db()
    assert (john.last_name, john.last_updated_by) == ("Dough", "boss")
    assert [(e.address, e.primary) for e in john.email_addresses.all()] == [("john@new.example.com", True)]
    assert [(p.number, p.digits) for p in john.phone_numbers.all()] == [("+1 210.312.4601", "12103124601")]
    assert [a.street for a in john.addresses.all()] == ["1 Main St"]


def test_bad_email_is_a_form_error_and_nothing_changes(client, people):
    john = people["john"]
    response = client.get(change_url(john))
    data = changeform_data(response)
    data["first_name"] = "Changed"
    add_inline_row(data, inline_prefix(response, EmailAddress), address="x" * 300)
    response = client.post(change_url(john), data)
    assert response.status_code == 200
    john.refresh_from_db()
    assert john.first_name == "John" and john.email_addresses.count() == 1


def test_account_roles_inline_on_the_contact(client, people):
    john, account = people["john"], people["account"]
    other = AccountFactory(customer=john.customer)
    response = client.get(change_url(john))
    data = changeform_data(response)
    prefix = inline_prefix(response, AccountContact)
    data[f"{prefix}-0-roles"] = ["BILLING", "ADMINISTRATIVE"]
    add_inline_row(data, prefix, account=str(other.pk), roles=["TECHNICAL"])
    assert client.post(change_url(john), data).status_code == 302
    roles = {
        link.account.key: sorted(r.role for r in link.roles.all())
        for link in AccountContact.objects.filter(contact=john).select_related("account")
    }
    assert roles == {account.key: ["ADMINISTRATIVE", "BILLING"], other.key: ["TECHNICAL"]}


def test_delete_contact_takes_it_off_its_accounts(client, people):
    john = people["john"]
    response = client.post(reverse("admin:contacts_contact_delete", args=[john.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=john.pk).exists()
    assert not AccountContact.objects.filter(contact_id=john.pk).exists()


def test_bulk_delete_is_all_or_nothing_when_a_service_refuses(client, people, monkeypatch):
    from django.core.exceptions import ValidationError

    from contacts import services

    real = services.contact_remove_from_account

    def refuse_jane(*, contact, account, actor):
        if contact.username == "jroe":
            raise ValidationError("jane stays")
        real(contact=contact, account=account, actor=actor)

    monkeypatch.setattr(services, "contact_remove_from_account", refuse_jane)
    selected = [people["john"].pk, people["jane"].pk]
    response = client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": selected, "post": "yes"})
    assert response.status_code == 302
    assert any("jane stays" in str(m) for m in response.wsgi_request._messages)
    assert Contact.objects.filter(pk__in=selected).count() == 2
    assert AccountContact.objects.filter(contact_id__in=selected).count() == 2


def test_account_roles_inline_refuses_another_customers_account(client, people):
    john = people["john"]
    theirs = AccountFactory(customer=people["jane"].customer, account_id="20202")
    response = client.get(change_url(john))
    data = changeform_data(response)
    prefix = inline_prefix(response, AccountContact)
    add_inline_row(data, prefix, account=str(theirs.pk), roles=["TECHNICAL"])
    response = client.post(change_url(john), data)
    assert response.status_code == 200  # the form again, with the reason beside the row
    body = response.content.decode()
    assert "CLOUD/20202 belongs to RCN-444-555-666, and RPN-823-034-233 is a contact of RCN-111-222-333" in body
    assert not AccountContact.objects.filter(contact=john, account=theirs).exists()


def test_account_roles_inline_refuses_a_contact_of_another_customer_on_the_account_page(client, people):
    account, jane = people["account"], people["jane"]
    url = reverse("admin:accounts_account_change", args=[account.pk])
    response = client.get(url)
    data = changeform_data(response)
    prefix = inline_prefix(response, AccountContact)
    add_inline_row(data, prefix, contact=str(jane.pk), roles=["BILLING"])
    response = client.post(url, data)
    assert response.status_code == 200
    assert "RPN-100-200-300 is a contact of RCN-444-555-666" in response.content.decode()
    assert not AccountContact.objects.filter(contact=jane, account=account).exists()
