"""The documented examples, as one exchange file, survive import and export exactly."""

import json

import pytest

from accounts.models import Account, Customer, RCNChange, StatusChange
from contacts.models import AccountContact, Contact
from metadata.models import Metadata

from .examples import example_records, load_examples
from .helpers import as_multiset, export_lines, import_quietly, in_rollback


@pytest.mark.parametrize("managed_hosting", ["detail", "list"])
def test_examples_round_trip_exactly(db, managed_hosting):
    records = example_records(managed_hosting=managed_hosting)
    load_examples(managed_hosting=managed_hosting)
    exported = export_lines()
    assert as_multiset(records) == as_multiset(json.loads(line) for line in exported)


def test_examples_export_is_byte_identical_after_reimport(db):
    first = in_rollback(lambda: (load_examples(), export_lines())[1])
    assert Account.objects.count() == 0  # rolled back: the next import starts from an empty database
    second = in_rollback(lambda: (import_quietly(json.loads(line) for line in first), export_lines())[1])
    assert len(first) == len(example_records())
    assert second == first


def test_examples_load_what_the_documents_show(db):
    counts = load_examples()
    assert counts["customerAccount"] == 8
    assert counts["contact"] == 5
    assert counts["statusChange"] == 3
    assert counts["customerAccountHistory"] == 10
    assert counts["accountRCNChange"] == 3

    faws = Account.objects.get(type="FANATICAL_SUPPORT_FOR_AWS", account_id="5342823")
    assert faws.domain == "12345"  # the FAWS example's second `domain` wins
    assert Account.objects.get(type="MANAGED_HOSTING", account_id="5342823").name == "FreeLancer Corp"
    ran = Account.objects.get(type="CLOUD", account_id="RAN2823")
    assert ran.number is None
    # Customers only named by accounts and contacts are implicit.
    assert set(Customer.objects.values_list("rcn", "implicit")) == {
        ("RCN-123-456-789", True),
        ("RCN-999-888-777", True),
    }
    john = Contact.objects.get(contact_number="RPN-823-034-233")
    assert [(a.street, a.primary) for a in john.addresses.order_by("id")] == [
        ("5000 Walzem Road", True),
        ("5001 Walzem Road", False),
    ]
    assert john.do_not_call and john.do_not_mail and not john.do_not_email
    link = AccountContact.objects.get(contact__contact_number="RPN-000-111-000")
    assert link.account.key == "CLOUD/7483483"
    assert [r.role for r in link.roles.all()] == ["ADMINISTRATIVE"]
    detail = Metadata.objects.get(key="creation:faws:servicelevelid")
    assert detail.created_by == "service_account_user"
    assert detail.created_date.isoformat() == "2017-04-26T20:46:58.467000+00:00"
    # The RCN trail is read in date order (docs/API.md): the MERGE, dated first, before the rows printed above it.
    trail = RCNChange.objects.filter(account__account_id="10101").oldest_first()
    assert [r.change_type for r in trail] == ["MERGE", "NEW", "RCN_UPDATE"]
    assert not StatusChange.objects.filter(account=faws).exists()  # the import adds no history of its own
