"""Contact services: create, update (children replaced), roles per account, removal from an account."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Account
from cmsportal.identity.access import Actor
from contacts import services
from contacts.models import AccountContact, AccountContactRole, Address, Contact, EmailAddress, PhoneNumber
from tests.factories import AccountFactory, ContactFactory, CustomerFactory

RACKER = Actor("racker1", "RACKER")
CUSTOMER = Actor("john0982", "CUSTOMER")


@pytest.fixture
def customer(db):
    return CustomerFactory(rcn="RCN-999-888-777")


@pytest.fixture
def accounts(customer):
    return [AccountFactory(customer=customer, account_id=str(n)) for n in (10101, 10102)]


def roles_on(contact, account):
    return sorted(
        AccountContactRole.objects.filter(link__contact=contact, link__account=account).values_list("role", flat=True)
    )


def test_contact_create_with_details_and_roles(customer, accounts):
    contact = services.contact_create(
        actor=CUSTOMER,
        contact_number="RPN-823-034-233",
        customer=customer,
        first_name="John",
        last_name="Doe",
        title="Mr",
        suffix="Sr",
        username="john0982",
        do_not_call=True,
        do_not_mail=True,
        addresses=[
            {
                "street": "5000 Walzem Road",
                "city": "San Antonio",
                "state": "Texas",
                "zipcode": "78218",
                "primary": True,
            },
            {"street": "5001 Walzem Road", "city": "San Antonio", "state": "Texas", "zipcode": "78218"},
        ],
        email_addresses=[{"address": "John.User@Example.com", "primary": True}],
        phone_numbers=[{"number": "(210) 312-4600", "country": "US", "mask": "(###)-###-####", "sms_verify": True}],
        accounts={accounts[0]: ["billing", "PRIMARY", "BILLING"], accounts[1]: ["TECHNICAL"]},
    )
    contact = Contact.objects.get(pk=contact.pk)
    assert (contact.first_name, contact.last_name, contact.title, contact.suffix, contact.username) == (
        "John",
        "Doe",
        "Mr",
        "Sr",
        "john0982",
    )
    assert (contact.do_not_call, contact.do_not_mail, contact.do_not_fax, contact.do_not_email) == (
        True,
        True,
        False,
        False,
    )
    assert contact.last_updated_by == "john0982" and contact.last_updated_date is not None
    assert [(a.street, a.primary) for a in contact.addresses.all()] == [
        ("5000 Walzem Road", True),
        ("5001 Walzem Road", False),
    ]
    email = contact.email_addresses.get()
    assert (email.address, email.address_lower, email.primary) == (
        "John.User@Example.com",
        "john.user@example.com",
        True,
    )
    phone = contact.phone_numbers.get()
    assert (phone.number, phone.digits, phone.sms_verify) == ("(210) 312-4600", "2103124600", True)
    # Roles are upper-cased and de-duplicated.
    assert roles_on(contact, accounts[0]) == ["BILLING", "PRIMARY"]
    assert roles_on(contact, accounts[1]) == ["TECHNICAL"]


@pytest.mark.parametrize(
    "bad",
    [
        {"contact_number": "RPN-1-2-3"},
        {"nickname": "not a contact field"},
        {"addresses": [{"street": "x", "planet": "Mars"}]},
        {"email_addresses": [{"address": ""}]},
        {"phone_numbers": [{"number": "1" * 65}]},
        {"accounts": "roles"},
    ],
)
def test_contact_create_rejects_bad_input_and_writes_nothing(customer, accounts, bad):
    kwargs = {"actor": RACKER, "contact_number": "RPN-000-000-001", "customer": customer} | bad
    if bad.get("accounts") == "roles":
        kwargs["accounts"] = {accounts[0]: ["OWNER"]}
    with pytest.raises(ValidationError):
        services.contact_create(**kwargs)
    assert not Contact.objects.exists()
    assert not Address.objects.exists() and not EmailAddress.objects.exists() and not PhoneNumber.objects.exists()
    assert not AccountContact.objects.exists()


def test_contact_create_rejects_duplicate_rpn(customer):
    ContactFactory(contact_number="RPN-000-000-001", customer=customer)
    with pytest.raises(ValidationError):
        services.contact_create(actor=RACKER, contact_number="RPN-000-000-001", customer=customer)
    assert Contact.objects.count() == 1


def test_contact_update_changes_fields_and_replaces_only_given_children(customer):
    contact = services.contact_create(
        actor=RACKER,
        contact_number="RPN-000-000-001",
        customer=customer,
        first_name="Ann",
        addresses=[{"street": "1 Main St"}],
        email_addresses=[{"address": "ann@example.com", "primary": True}],
        phone_numbers=[{"number": "2103124600"}],
    )
    services.contact_update(
        contact=contact,
        actor=CUSTOMER,
        first_name="Anne",
        do_not_survey=True,
        email_addresses=[{"address": "anne@example.com", "primary": True}, {"address": "anne@work.example.com"}],
    )
    contact.refresh_from_db()
    assert (contact.first_name, contact.do_not_survey, contact.last_updated_by) == ("Anne", True, "john0982")
    assert [e.address for e in contact.email_addresses.all()] == ["anne@example.com", "anne@work.example.com"]
    assert EmailAddress.objects.count() == 2  # the old address is gone, not kept beside the new ones
    assert [a.street for a in contact.addresses.all()] == ["1 Main St"]  # not given: untouched
    assert [p.number for p in contact.phone_numbers.all()] == ["2103124600"]

    services.contact_update(contact=contact, actor=RACKER, phone_numbers=[])
    assert not PhoneNumber.objects.exists()


def test_contact_update_rejects_unknown_fields_and_bad_children(customer):
    contact = ContactFactory(customer=customer, first_name="Ann")
    with pytest.raises(ValidationError):
        services.contact_update(contact=contact, actor=RACKER, contact_number="RPN-999-999-999")
    with pytest.raises(ValidationError):
        services.contact_update(contact=contact, actor=RACKER, first_name="Bob", addresses=[{"town": "x"}])
    contact.refresh_from_db()
    assert contact.first_name == "Ann"  # the whole update rolled back


def test_contact_set_roles_sets_exactly_the_given_roles(customer, accounts):
    contact = ContactFactory(customer=customer)
    services.contact_set_roles(contact=contact, account=accounts[0], roles=["PRIMARY", "BILLING"], actor=RACKER)
    assert roles_on(contact, accounts[0]) == ["BILLING", "PRIMARY"]
    services.contact_set_roles(contact=contact, account=accounts[0], roles=["technical", "BILLING"], actor=CUSTOMER)
    assert roles_on(contact, accounts[0]) == ["BILLING", "TECHNICAL"]
    assert AccountContact.objects.filter(contact=contact).count() == 1
    contact.refresh_from_db()
    assert contact.last_updated_by == "john0982"

    with pytest.raises(ValidationError):
        services.contact_set_roles(contact=contact, account=accounts[0], roles=["OWNER"], actor=RACKER)
    assert roles_on(contact, accounts[0]) == ["BILLING", "TECHNICAL"]

    services.contact_set_roles(contact=contact, account=accounts[0], roles=[], actor=RACKER)
    assert roles_on(contact, accounts[0]) == []
    assert AccountContact.objects.filter(contact=contact, account=accounts[0]).exists()


def test_contact_remove_from_account(customer, accounts):
    contact = ContactFactory(customer=customer)
    for account in accounts:
        services.contact_set_roles(contact=contact, account=account, roles=["ADMINISTRATIVE"], actor=RACKER)
    services.contact_remove_from_account(contact=contact, account=accounts[0], actor=CUSTOMER)
    assert list(contact.accounts.all()) == [accounts[1]]
    assert AccountContactRole.objects.count() == 1
    contact.refresh_from_db()
    assert contact.last_updated_by == "john0982"

    with pytest.raises(ValidationError):
        services.contact_remove_from_account(contact=contact, account=accounts[0], actor=RACKER)
    contact.refresh_from_db()
    assert contact.last_updated_by == "john0982"


# --- a contact belongs to one customer: roles only on that customer's accounts ---------------------


def test_contact_set_roles_refuses_another_customers_account(customer, accounts):
    contact = ContactFactory(customer=customer, contact_number="RPN-000-000-001")
    other = AccountFactory(customer=CustomerFactory(rcn="RCN-555-555-555"), account_id="20202")
    with pytest.raises(ValidationError) as refused:
        services.contact_set_roles(contact=contact, account=other, roles=["TECHNICAL"], actor=RACKER)
    message = " ".join(refused.value.message_dict["account"])
    assert "CLOUD/20202 belongs to RCN-555-555-555" in message
    assert "RPN-000-000-001 is a contact of RCN-999-888-777" in message
    assert not AccountContact.objects.exists() and not AccountContactRole.objects.exists()


def test_contact_set_roles_reads_the_account_owner_from_the_database(customer, accounts):
    """A stale Account object (moved since it was read) does not let a role through."""
    contact = ContactFactory(customer=customer)
    stale = accounts[0]
    Account.objects.filter(pk=stale.pk).update(customer=CustomerFactory(rcn="RCN-555-555-555"))
    with pytest.raises(ValidationError):
        services.contact_set_roles(contact=contact, account=stale, roles=["TECHNICAL"], actor=RACKER)
    assert not AccountContact.objects.exists()


def test_contact_without_customer_holds_no_roles(accounts):
    contact = ContactFactory(customer=None, contact_number="RPN-000-000-002")
    with pytest.raises(ValidationError, match="RPN-000-000-002 belongs to no customer"):
        services.contact_set_roles(contact=contact, account=accounts[0], roles=["BILLING"], actor=RACKER)
    assert not AccountContact.objects.exists()


def test_contact_create_refuses_roles_on_another_customers_account(customer, accounts):
    other = AccountFactory(customer=CustomerFactory(rcn="RCN-555-555-555"), account_id="20202")
    with pytest.raises(ValidationError, match="CLOUD/20202 belongs to RCN-555-555-555"):
        services.contact_create(
            actor=RACKER,
            contact_number="RPN-000-000-003",
            customer=customer,
            accounts={accounts[0]: ["PRIMARY"], other: ["BILLING"]},
        )
    assert not Contact.objects.exists() and not AccountContact.objects.exists()


def test_contact_delete_takes_it_off_every_account_then_deletes_it(customer, accounts, monkeypatch):
    contact = services.contact_create(
        actor=RACKER,
        contact_number="RPN-100-200-300",
        customer=customer,
        phone_numbers=[{"number": "(210) 555-0100", "country": "US"}],
        accounts={accounts[0]: ["BILLING"], accounts[1]: ["TECHNICAL"]},
    )
    taken_off = []
    real = services.contact_remove_from_account

    def spy(*, contact, account, actor):
        taken_off.append(account.key)
        real(contact=contact, account=account, actor=actor)

    monkeypatch.setattr(services, "contact_remove_from_account", spy)
    services.contact_delete(contact=contact, actor=RACKER)
    assert sorted(taken_off) == sorted(account.key for account in accounts)
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not AccountContact.objects.filter(contact_id=contact.pk).exists()
    assert not PhoneNumber.objects.filter(contact_id=contact.pk).exists()


def test_contact_delete_of_a_contact_deleted_meanwhile_is_a_validation_error(customer):
    contact = ContactFactory(customer=customer)
    Contact.objects.filter(pk=contact.pk).delete()
    with pytest.raises(ValidationError):
        services.contact_delete(contact=contact, actor=RACKER)
