"""Staff actions refuse, on their first step and with the typed values kept, what could only fail later:
a merge into itself or into a customer one cannot see, a move to a missing customer or to the owner, a change
that changes nothing, the "add" of a key that exists."""

import pytest

from accounts.models import Account, Customer
from tests.factories import AccountContactFactory, AccountFactory, CustomerFactory, MetadataFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    customer = CustomerFactory(rcn="RCN-100-000-001", name="Acme")
    account = AccountFactory(
        customer=customer, type="CLOUD", account_id="11", status="Active", collections_status="CURRENT"
    )
    AccountContactFactory(account=account)
    AccountFactory(customer=customer, type="CLOUD", account_id="12")
    CustomerFactory(rcn="RCN-200-000-002", name="Globex")
    MetadataFactory(account=account, key="support:level", value="gold")
    return account


def first_step(client, url, data):
    response = client.post(url, data)
    assert response.status_code == 200
    assert not response.context.get("confirming"), "the first step went on to the confirmation"
    return response.content.decode()


@pytest.mark.parametrize(
    "url, data, message",
    [
        ("/customers/RCN-100-000-001/merge/", {"target": "RCN-100-000-001"}, "cannot be merged into itself"),
        ("/customers/RCN-100-000-001/merge/", {"target": "RCN-999-999-999"}, "no customer RCN-999-999-999"),
        ("/accounts/CLOUD/11/move/", {"rcn": "RCN-999-999-999"}, "no customer RCN-999-999-999"),
        ("/accounts/CLOUD/11/move/", {"rcn": "RCN-100-000-001"}, "already belongs to RCN-100-000-001"),
        ("/accounts/CLOUD/11/status/", {"status": "Active"}, "Nothing would change"),
        ("/accounts/CLOUD/11/collections/", {"collections_status": "CURRENT"}, "Nothing would change"),
        ("/accounts/CLOUD/11/nickname/", {"nickname": ""}, "Nothing would change"),
        ("/accounts/CLOUD/11/metadata/add/", {"key": "support:level", "value": "x"}, "edit it instead"),
    ],
)
def test_refused_on_the_first_step_with_the_values_kept(staff, acme, url, data, message):
    body = first_step(staff, url, data)
    assert message in body
    for value in data.values():
        if value:
            kept = (f'value="{value}"', f'<option value="{value}" selected>', f"\n{value}</textarea>")
            assert any(text in body for text in kept), value


def test_existing_key_links_to_its_edit_page(staff, acme):
    body = first_step(staff, "/accounts/CLOUD/11/metadata/add/", {"key": "support:level", "value": "x"})
    assert 'href="/accounts/CLOUD/11/metadata/edit/?key=support%3Alevel" data-testid="edit-instead"' in body


def test_a_real_change_still_reaches_the_confirmation(staff, acme):
    response = staff.post("/accounts/CLOUD/11/status/", {"status": "Suspended"})
    assert response.context["confirming"]
    response = staff.post("/accounts/CLOUD/11/move/", {"rcn": "RCN-200-000-002"})
    assert response.context["confirming"]


def test_merge_confirmation_names_both_customers_and_counts_what_moves(staff, acme):
    response = staff.post("/customers/RCN-100-000-001/merge/", {"target": "RCN-200-000-002"})
    assert response.context["confirming"]
    assert response.context["changes"][0] == (
        "Every account and contact of RCN-100-000-001 (Acme) moves to RCN-200-000-002 (Globex): "
        "2 accounts and 1 contact."
    )
    assert Customer.objects.filter(rcn="RCN-100-000-001").exists()
    assert Account.objects.filter(customer__rcn="RCN-100-000-001").count() == 2
