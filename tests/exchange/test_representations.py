"""The JSON representations shared by the API and the exchange format."""

from datetime import UTC, datetime

from cmsportal.exchange.representations import (
    account_history_to_dict,
    account_to_dict,
    contact_to_dict,
    metadata_detail_to_dict,
    rcn_change_to_dict,
    status_change_to_dict,
)
from contacts.models import Contact
from tests.factories import (
    AccountFactory,
    AccountHistoryFactory,
    AddressFactory,
    ContactFactory,
    MetadataFactory,
    RCNChangeFactory,
    StatusChangeFactory,
)

WHEN = datetime(2015, 4, 21, 18, 0, 0, 467000, tzinfo=UTC)


def test_account_omits_absent_values_and_keeps_integers(db):
    account = AccountFactory(
        account_id="10101", number=10101, nickname=None, parent_account_number=19293384931, last_updated_date=WHEN
    )
    data = account_to_dict(account)
    assert data["number"] == 10101 and data["parentAccountNumber"] == 19293384931
    assert "nickname" not in data and "createdDate" not in data
    assert data["lastUpdatedDate"] == "2015-04-21T18:00:00.467Z"
    assert list(data)[:4] == ["id", "type", "number", "rcn"]
    assert None not in data.values()


def test_contact_booleans_always_present_and_no_queries(db, django_assert_num_queries):
    contact = ContactFactory(username=None, last_updated_date=WHEN)
    AddressFactory(contact=contact, primary=False, state=None)
    loaded = (
        Contact.objects.select_related("customer")
        .prefetch_related("addresses", "email_addresses", "phone_numbers")
        .get(pk=contact.pk)
    )
    with django_assert_num_queries(0):
        data = contact_to_dict(loaded, roles=["BILLING"])
        bare = contact_to_dict(loaded)
    assert data["roles"] == {"role": ["BILLING"]} and "roles" not in bare
    assert data["addresses"]["address"][0]["primary"] is False
    assert "state" not in data["addresses"]["address"][0]
    assert "username" not in data and "emailAddresses" not in data and "phoneNumbers" not in data
    assert data["notificationPreferences"] == dict.fromkeys(
        ("doNotFax", "doNotCall", "doNotEmail", "doNotMail", "doNotSurvey"), False
    )
    assert data["rcn"] == contact.customer.rcn


def test_history_and_metadata_shapes(db):
    status = StatusChangeFactory(date=WHEN, usertype="RACKER", fraud_status=None)
    assert status_change_to_dict(status) == {
        "date": "2015-04-21T18:00:00.467Z",
        "status": "Active",
        "username": "factory",
        "usertype": "RACKER",
    }
    history = AccountHistoryFactory(updated_date=WHEN, rcn="RCN-000-000-001", updated_by_username=None)
    data = account_history_to_dict(history)
    assert data["updatedBy"] == {"type": "SYSTEM"}
    assert "destinationUpdatedBy" not in data
    rcn = RCNChangeFactory(change_type="MERGE", date=None, rcn="RCN-000-000-002")
    assert rcn_change_to_dict(rcn) == {"accountChangeType": "MERGE", "username": "factory", "rcn": "RCN-000-000-002"}
    meta = MetadataFactory(key="support:level", value="", created_by=None, created_date=None)
    detail = metadata_detail_to_dict(meta)
    assert detail["value"] == "" and "createdBy" not in detail and "createdDate" not in detail
