"""Editing a contact on the staff pages: every field, its emails, phones, addresses and roles, through the services."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from cmsportal.identity.models import TenantGrant
from contacts.models import AccountContact, Contact
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

URL = "/contacts/RPN-000-000-001/edit/"


def editor(username="editor", view_all=True, **kwargs):
    user = UserFactory(username=username, view_all=view_all, **kwargs)
    user.user_permissions.add(Permission.objects.get(codename="change_contact"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ada():
    customer = CustomerFactory(rcn="RCN-100-100-100")
    first = AccountFactory(customer=customer, type="CLOUD", account_id="1", tenant_id="t1")
    second = AccountFactory(customer=customer, type="CLOUD", account_id="2", tenant_id="t2")
    contact = ContactFactory(
        contact_number="RPN-000-000-001", customer=customer, first_name="Ada", last_name="Lovelace", username="ada"
    )
    AccountContactFactory(account=first, contact=contact, roles=["PRIMARY"])
    AccountContactFactory(account=second, contact=contact, roles=["BILLING"])
    EmailAddressFactory(contact=contact, address="ada@example.com", primary=True)
    PhoneNumberFactory(contact=contact, number="+1 540 826 3188", primary=True)
    AddressFactory(contact=contact, street="1 Analytical Way", city="London", primary=True)
    return contact


def current_post(client) -> dict:
    """The form as the page shows it, as a browser would submit it unchanged."""
    form = client.get(URL).context["form"]
    data = {}
    for name in form.fields:
        value = form.initial.get(name, "")
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list):
            data[name] = value
        else:
            data[name] = value
    return data


def test_edit_needs_the_change_permission_and_a_visible_contact(ada):
    plain = Client()
    plain.force_login(UserFactory(username="viewer", view_all=True))
    assert plain.get(URL).status_code == 403
    outsider = editor("outsider", view_all=False)
    assert outsider.get(URL).status_code == 404
    assert Client().get(URL).status_code == 302  # to the sign-in page


def test_form_shows_the_current_contact(ada):
    client = editor()
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    shown = ("Ada", "Lovelace", "ada@example.com", "+1 540 826 3188", "1 Analytical Way", 'data-testid="roles-CLOUD/1"')
    for text in shown:
        assert text in body
    form = response.context["form"]
    assert form.initial["roles-" + str(ada.account_links.get(account__account_id="1").account_id)] == ["PRIMARY"]


def test_unchanged_submission_is_refused_on_the_first_step(ada):
    client = editor()
    response = client.post(URL, current_post(client))
    assert response.status_code == 200
    assert "Nothing would change" in response.content.decode()
    assert not response.context.get("confirming")


def test_change_is_confirmed_with_a_diff_then_written_through_the_services(ada):
    client = editor()
    data = current_post(client)
    first, second = (ada.account_links.get(account__account_id=i).account_id for i in ("1", "2"))
    data.update(
        {
            "first_name": "Augusta Ada",
            "title": "Countess",
            "do_not_call": "on",
            "email-1-address": "countess@example.org",
            # An emptied row: the phone goes.
            "phone-0-number": "",
            "phone-0-country": "",
            "phone-0-mask": "",
            f"roles-{first}": ["PRIMARY", "TECHNICAL"],
            f"roles-{second}": [],  # no role left: off the account
        }
    )
    data.pop("phone-0-primary")
    response = client.post(URL, data)
    assert response.context["confirming"]
    changes = response.context["changes"]
    assert "First name: Ada → Augusta Ada" in changes
    assert "Title: — → Countess" in changes
    assert "Do not call: no → yes" in changes
    assert "Email addresses: add countess@example.org" in changes
    assert "Phone numbers: remove +1 540 826 3188, US, (###)-###-#### (primary)" in changes
    assert "Roles on CLOUD/1: PRIMARY → PRIMARY, TECHNICAL" in changes
    assert "Roles on CLOUD/2: BILLING → none (taken off the account)" in changes
    # Nothing is written before the confirmation.
    assert Contact.objects.get(pk=ada.pk).first_name == "Ada"

    response = client.post(URL, {**data, "confirm": "yes"})
    assert response.status_code == 302
    contact = Contact.objects.get(pk=ada.pk)
    assert (contact.first_name, contact.title, contact.do_not_call) == ("Augusta Ada", "Countess", True)
    assert contact.last_updated_by == "editor"
    assert sorted(contact.email_addresses.values_list("address", flat=True)) == [
        "ada@example.com",
        "countess@example.org",
    ]
    assert not contact.phone_numbers.exists()
    assert contact.addresses.get().street == "1 Analytical Way"
    link = AccountContact.objects.get(contact=contact, account_id=first)
    assert sorted(link.roles.values_list("role", flat=True)) == ["PRIMARY", "TECHNICAL"]
    assert not AccountContact.objects.filter(contact=contact, account_id=second).exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"email-1-primary": "on"}, "only one can be primary"),
        ({"phone-1-country": "US"}, "Number is required in a filled-in row"),
        ({"first_name": "x" * 151}, "at most 150 characters"),
    ],
)
def test_invalid_rows_are_form_errors(ada, change, message):
    client = editor()
    data = {**current_post(client), "email-1-address": "second@example.com", **change}
    response = client.post(URL, data)
    assert response.status_code == 200
    assert not response.context.get("confirming")
    assert message in response.content.decode()


def test_a_tenant_editor_is_offered_only_visible_accounts_and_keeps_the_others(ada):
    user = UserFactory(username="tenant-editor")
    user.user_permissions.add(Permission.objects.get(codename="change_contact"))
    TenantGrant.objects.create(user=user, tenant_id="t1")
    client = Client()
    client.force_login(user)
    body = client.get(URL).content.decode()
    assert 'data-testid="roles-CLOUD/1"' in body
    assert "CLOUD/2" not in body
    first = ada.account_links.get(account__account_id="1").account_id
    data = {**current_post(client), f"roles-{first}": ["PRIMARY", "BILLING"], "confirm": "yes"}
    assert client.post(URL, data).status_code == 302
    roles = {
        link.account.account_id: sorted(link.roles.values_list("role", flat=True))
        for link in AccountContact.objects.filter(contact=ada).select_related("account")
    }
    assert roles == {"1": ["BILLING", "PRIMARY"], "2": ["BILLING"]}


def test_contact_page_links_to_the_edit_page_only_for_editors(ada):
    assert URL in editor().get("/contacts/RPN-000-000-001/").content.decode()
    viewer = Client()
    viewer.force_login(UserFactory(username="viewer", view_all=True))
    assert URL not in viewer.get("/contacts/RPN-000-000-001/").content.decode()


def test_rows_beyond_the_cap_are_ignored(ada):
    client = editor()
    data = {**current_post(client), "email-99999999999-address": "x@example.com", "first_name": "Changed"}
    response = client.post(URL, data)
    assert response.status_code == 200
    assert response.context["confirming"]
