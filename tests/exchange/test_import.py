"""Import rules: validation with line numbers, all-or-nothing, upserts, implicit customers, history."""

import copy
import io
import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group

from accounts.models import Account, AccountHistory, Customer, RCNChange, StatusChange
from cmsportal.exchange import ExchangeError, import_file, import_records
from cmsportal.exchange import importer as importer_module
from contacts.models import AccountContact, Address, Contact
from metadata.models import Metadata, Namespace
from tests.factories import AccountFactory, CustomerFactory

from .helpers import export_lines, import_quietly, row_counts

CUSTOMER = {"customer": {"rcn": "RCN-123-456-789", "name": "FreeLancer Corp"}}
ACCOUNT = {
    "customerAccount": {
        "id": "10101",
        "type": "CLOUD",
        "number": 10101,
        "rcn": "RCN-123-456-789",
        "name": "MyRackspaceAcct",
        "status": "Active",
        "tenantId": "10101",
        "domain": "10101",
        "lastUpdatedBy": "user1",
        "lastUpdatedDate": "2015-04-21T18:00:00.000Z",
    }
}
CONTACT = {
    "contact": {
        "contactNumber": "RPN-000-111-007",
        "rcn": "RCN-123-456-789",
        "firstName": "Mike",
        "addresses": {"address": [{"street": "5000 Walzem Road", "primary": True}]},
        "notificationPreferences": {
            "doNotFax": False,
            "doNotCall": True,
            "doNotEmail": False,
            "doNotMail": True,
            "doNotSurvey": False,
        },
        "accounts": [{"type": "CLOUD", "id": "10101", "roles": ["TECHNICAL", "BILLING"]}],
    }
}
METADATA = {"metadata": {"accountType": "CLOUD", "accountId": "10101", "key": "support:level", "value": "navigator"}}
STATUS = {"statusChange": {"accountType": "CLOUD", "accountId": "10101", "date": "2012-12-31T18:00:00.000Z"}}
HISTORY = {
    "customerAccountHistory": {
        "accountType": "CLOUD",
        "accountId": "10101",
        "accountChangeType": "NEW",
        "updatedBy": {"username": "abc123", "type": "SYSTEM"},
    }
}
RCN = {"accountRCNChange": {"accountType": "CLOUD", "accountId": "10101", "accountChangeType": "NEW"}}
NAMESPACE = {"namespace": {"name": "billing", "access": "READ_RESTRICTED", "readers": ["finance"], "writers": []}}
GOOD = [CUSTOMER, ACCOUNT, CONTACT, METADATA, STATUS, HISTORY, RCN, NAMESPACE]


def changed(record: dict, **changes) -> dict:
    """A copy of `record` with body fields changed; a value of ... removes the field."""
    record = copy.deepcopy(record)
    ((kind, body),) = record.items()
    for path, value in changes.items():
        target = body
        *parents, key = path.split("__")
        for parent in parents:
            target = target[int(parent)] if isinstance(target, list) else target[parent]
        if value is ...:
            del target[key]
        else:
            target[key] = value
    return record


def test_imports_every_kind_and_counts_them(db):
    counts = import_quietly(GOOD)
    assert counts == {
        "customer": 1,
        "namespace": 1,
        "customerAccount": 1,
        "contact": 1,
        "metadata": 1,
        "statusChange": 1,
        "customerAccountHistory": 1,
        "accountRCNChange": 1,
    }
    account = Account.objects.get(type="CLOUD", account_id="10101")
    assert account.customer.rcn == "RCN-123-456-789" and account.customer.name == "FreeLancer Corp"
    assert account.last_updated_by == "user1"
    assert account.last_updated_date == datetime(2015, 4, 21, 18, tzinfo=UTC)
    assert account.nickname is None and account.created_date is None  # absent stays absent
    link = AccountContact.objects.get()
    assert (link.contact.contact_number, link.account_id) == ("RPN-000-111-007", account.pk)
    assert [r.role for r in link.roles.order_by("id")] == ["TECHNICAL", "BILLING"]
    history = AccountHistory.objects.get()
    assert (history.updated_by_username, history.updated_by_type, history.rcn) == ("abc123", "SYSTEM", None)
    namespace = Namespace.objects.get(name="billing")
    assert namespace.access == "READ_RESTRICTED"
    assert list(namespace.readers.values_list("name", flat=True)) == ["finance"]


def test_records_may_come_in_any_order(db):
    import_quietly(list(reversed(GOOD)))
    assert Metadata.objects.get().account.key == "CLOUD/10101"
    assert AccountContact.objects.count() == 1


def test_import_writes_no_history_of_its_own(db):
    import_quietly([CUSTOMER, ACCOUNT, CONTACT, METADATA])
    assert StatusChange.objects.count() == AccountHistory.objects.count() == RCNChange.objects.count() == 0


def test_reimport_changes_nothing(db):
    import_quietly(GOOD)
    before = row_counts()
    first_export = export_lines()
    import_quietly(GOOD)
    assert row_counts() == before
    assert export_lines() == first_export


def test_history_duplicates_count_as_a_multiset(db):
    import_quietly([ACCOUNT, STATUS, STATUS])
    assert StatusChange.objects.count() == 2  # the file says it happened twice
    import_quietly([ACCOUNT, STATUS, STATUS])
    assert StatusChange.objects.count() == 2
    import_quietly([ACCOUNT, STATUS])
    assert StatusChange.objects.count() == 2
    import_quietly([ACCOUNT, STATUS, STATUS, STATUS])
    assert StatusChange.objects.count() == 3
    other = changed(STATUS, username="someone")
    import_quietly([other])
    assert StatusChange.objects.count() == 4


def test_history_is_appended_in_file_order(db):
    entries = [
        changed(RCN, accountChangeType=change, date=date)
        for change, date in [("NEW", "2012-12-31T18:00:00.000Z"), ("MERGE", "2012-12-15T18:00:00.000Z")]
    ]
    import_quietly([*entries, ACCOUNT])
    assert list(RCNChange.objects.order_by("id").values_list("change_type", flat=True)) == ["NEW", "MERGE"]


def test_upsert_updates_existing_rows_by_natural_key(db):
    import_quietly(GOOD)
    account_pk = Account.objects.get().pk
    import_quietly(
        [
            changed(ACCOUNT, name="Renamed", nickname="nick", rcn="RCN-999-888-777", status=...),
            changed(CONTACT, rcn="RCN-999-888-777"),  # its contact moves with it
            changed(METADATA, value="racker"),
            changed(NAMESPACE, access="OPEN", readers=[], writers=["ops", "finance"]),
        ]
    )
    account = Account.objects.get()
    assert account.pk == account_pk
    assert (account.name, account.nickname, account.status) == ("Renamed", "nick", None)
    assert account.customer.rcn == "RCN-999-888-777"
    assert Metadata.objects.get().value == "racker"
    namespace = Namespace.objects.get()
    assert namespace.access == "OPEN" and not namespace.readers.exists()
    through = Namespace.writers.through.objects.filter(namespace=namespace).order_by("id")
    assert [row.group.name for row in through] == ["ops", "finance"]  # the file's order
    assert set(Group.objects.values_list("name", flat=True)) == {"finance", "ops"}


def test_contact_links_roles_and_details_are_replaced(db):
    second = changed(ACCOUNT, id="20202", number=20202)
    import_quietly([CUSTOMER, ACCOUNT, second, CONTACT])
    replacement = changed(
        CONTACT,
        accounts=[{"type": "CLOUD", "id": "20202", "roles": ["PRIMARY"]}],
        addresses=...,
        emailAddresses={"emailAddress": [{"address": "mike@example.com", "primary": True}]},
    )
    import_quietly([replacement])
    contact = Contact.objects.get()
    assert [(link.account.account_id, [r.role for r in link.roles.all()]) for link in contact.account_links.all()] == [
        ("20202", ["PRIMARY"])
    ]
    assert not Address.objects.exists()
    assert list(contact.email_addresses.values_list("address", flat=True)) == ["mike@example.com"]


def test_implicit_customers(db):
    import_quietly([ACCOUNT, changed(CONTACT, rcn="RCN-999-888-777", accounts=[])])
    assert set(Customer.objects.values_list("rcn", "implicit", "name")) == {
        ("RCN-123-456-789", True, None),
        ("RCN-999-888-777", True, None),
    }
    assert not [line for line in export_lines() if line.startswith('{"customer"')]
    # A customer record makes it explicit, with its name.
    import_quietly([CUSTOMER])
    assert Customer.objects.get(rcn="RCN-123-456-789").implicit is False
    assert export_lines()[0] == '{"customer":{"rcn":"RCN-123-456-789","name":"FreeLancer Corp"}}'
    # An existing customer named by an account is left as it is.
    import_quietly([ACCOUNT])
    assert Customer.objects.get(rcn="RCN-123-456-789").implicit is False
    assert Customer.objects.get(rcn="RCN-123-456-789").name == "FreeLancer Corp"


def test_contact_without_rcn_has_no_customer(db):
    import_quietly([ACCOUNT, changed(CONTACT, rcn=..., accounts=[])])
    assert Contact.objects.get().customer is None
    assert '"rcn"' not in [line for line in export_lines() if line.startswith('{"contact"')][0]


def test_a_contact_holds_roles_only_on_its_customers_accounts_as_the_file_leaves_them(db):
    # An account record that moves the account counts: the contact must follow it in the same file.
    moved = changed(ACCOUNT, rcn="RCN-999-888-777")
    with pytest.raises(ExchangeError) as caught:
        import_quietly([moved, CUSTOMER, CONTACT])
    assert caught.value.line == 3
    assert caught.value.reason == (
        "contact RPN-000-111-007 of RCN-123-456-789 names account CLOUD/10101, which belongs to RCN-999-888-777 "
        "(its record on line 1): a contact holds roles only on its own customer's accounts"
    )
    assert row_counts() == dict.fromkeys(row_counts(), 0)
    import_quietly([moved, changed(CONTACT, rcn="RCN-999-888-777")])
    assert AccountContact.objects.get().contact.customer.rcn == "RCN-999-888-777"


def test_moving_an_account_away_from_a_stored_contact_is_refused_on_the_accounts_line(db):
    import_quietly(GOOD)
    before = row_counts()
    with pytest.raises(ExchangeError) as caught:
        import_quietly([METADATA, changed(ACCOUNT, rcn="RCN-999-888-777")])
    assert caught.value.line == 2
    assert caught.value.reason.startswith(
        "account CLOUD/10101 belongs to RCN-999-888-777 here, but contact RPN-000-111-007 of RCN-123-456-789 "
        "holds roles on it: a contact holds roles only on its own customer's accounts"
    )
    assert row_counts() == before
    assert Account.objects.get().customer.rcn == "RCN-123-456-789"
    # Restated without the account, the contact stays with its customer and the account moves.
    import_quietly([changed(ACCOUNT, rcn="RCN-999-888-777"), changed(CONTACT, accounts=[])])
    assert Account.objects.get().customer.rcn == "RCN-999-888-777"
    assert Contact.objects.get().customer.rcn == "RCN-123-456-789"
    assert not AccountContact.objects.exists()


def test_references_to_accounts_already_stored(db):
    AccountFactory(account_id="30303", customer=CustomerFactory(rcn="RCN-111-111-111"))
    import_quietly([changed(METADATA, accountId="30303"), changed(STATUS, accountId="30303")])
    assert Metadata.objects.get().account.account_id == "30303"


def test_dates_are_normalised_to_utc_milliseconds(db):
    import_quietly(
        [changed(ACCOUNT, createdDate="2015-04-21T20:00:00.1234567+02:00", lastUpdatedDate="2015-04-21 18:00:00")]
    )
    account = Account.objects.get()
    assert account.created_date == datetime(2015, 4, 21, 18, 0, 0, 123000, tzinfo=UTC)
    line = [line for line in export_lines() if line.startswith('{"customerAccount"')][0]
    assert '"createdDate":"2015-04-21T18:00:00.123Z"' in line
    assert '"lastUpdatedDate":"2015-04-21T18:00:00.000Z"' in line


def test_chunked_staging_gives_the_same_result(db, monkeypatch):
    """Staging rows are written in chunks; a tiny chunk exercises many flushes per table."""
    monkeypatch.setattr(importer_module, "CHUNK", 3)
    accounts = [changed(ACCOUNT, id=str(50000 + i), number=50000 + i) for i in range(10)]
    metadata = [changed(METADATA, accountId=str(50000 + i)) for i in range(10)]
    import_quietly([*metadata, *accounts])
    assert Account.objects.count() == Metadata.objects.count() == 10


# -- errors: the line number, a clear reason, and nothing written ----------------------------------

BAD_LINES = [
    pytest.param(["x"], "a record is a JSON object", id="not-an-object"),
    pytest.param({}, "empty record", id="empty-record"),
    pytest.param({"account": {}}, "unknown kind 'account'", id="unknown-kind"),
    pytest.param({**CUSTOMER, **ACCOUNT}, "exactly one key", id="two-kinds"),
    pytest.param({"customer": "RCN-123-456-789"}, "must be an object", id="body-not-object"),
    pytest.param(changed(CUSTOMER, rcn="RCN-12-456-789"), "'rcn' must look like RCN-123-456-789", id="bad-rcn"),
    pytest.param(changed(ACCOUNT, id=...), "missing field 'id'", id="account-without-id"),
    pytest.param(changed(ACCOUNT, type=...), "missing field 'type'", id="account-without-type"),
    pytest.param(changed(ACCOUNT, rcn=...), "missing field 'rcn'", id="account-without-rcn"),
    pytest.param(changed(ACCOUNT, type="cloud"), "'type' must be one of CLOUD", id="bad-type"),
    pytest.param(changed(ACCOUNT, status="Open"), "'status' must be one of Active", id="bad-status"),
    pytest.param(changed(ACCOUNT, number="10101"), "'number' must be an integer", id="number-string"),
    pytest.param(changed(ACCOUNT, number=1.5), "'number' must be an integer", id="number-float"),
    pytest.param(changed(ACCOUNT, number=True), "'number' must be an integer", id="number-bool"),
    pytest.param(changed(ACCOUNT, number=2**63), "'number' is out of range", id="number-too-big"),
    pytest.param(changed(ACCOUNT, name=None), "null", id="null-value"),
    pytest.param(changed(ACCOUNT, link=[]), "unknown field 'link'", id="unknown-field"),
    pytest.param(changed(ACCOUNT, name="x" * 256), "longer than 255", id="too-long"),
    pytest.param(changed(ACCOUNT, name="a\x00b"), "NUL", id="nul-character"),
    pytest.param(changed(ACCOUNT, name="\ud800"), "surrogate", id="lone-surrogate"),
    pytest.param(changed(ACCOUNT, id=""), "must not be empty", id="empty-id"),
    pytest.param(changed(ACCOUNT, lastUpdatedDate="yesterday"), "'lastUpdatedDate' must be a date", id="bad-date"),
    pytest.param(changed(CONTACT, contactNumber=...), "missing field 'contactNumber'", id="contact-without-rpn"),
    pytest.param(changed(CONTACT, contactNumber="RPN-1"), "RPN-123-456-789", id="bad-rpn"),
    pytest.param(changed(CONTACT, roles={"role": []}), "unknown field 'roles'", id="contact-roles"),
    pytest.param(changed(CONTACT, notificationPreferences=...), "notificationPreferences", id="no-preferences"),
    pytest.param(changed(CONTACT, notificationPreferences__doNotFax=...), "'doNotFax'", id="missing-boolean"),
    pytest.param(changed(CONTACT, addresses__address__0__primary=...), "'primary'", id="address-primary"),
    pytest.param(changed(CONTACT, addresses={"address": []}), "leave it out", id="empty-addresses"),
    pytest.param(changed(CONTACT, accounts=...), "missing field 'accounts'", id="contact-accounts"),
    pytest.param(changed(CONTACT, accounts__0__roles=["OWNER"]), "'roles' must be one of", id="bad-role"),
    pytest.param(changed(CONTACT, accounts__0__roles=["BILLING", "BILLING"]), "listed twice", id="duplicate-role"),
    pytest.param(changed(METADATA, key=...), "missing field 'key'", id="metadata-without-key"),
    pytest.param(changed(METADATA, value=...), "missing field 'value'", id="metadata-without-value"),
    pytest.param(changed(METADATA, key="nonamespace"), "namespace:name", id="bad-key"),
    pytest.param(changed(STATUS, date=...), "missing field 'date'", id="status-without-date"),
    pytest.param(changed(STATUS, accountType=...), "missing field 'accountType'", id="history-without-type"),
    pytest.param(changed(HISTORY, accountId=...), "missing field 'accountId'", id="history-without-id"),
    pytest.param(changed(HISTORY, updatedBy={}), "'updatedBy' is empty", id="empty-updated-by"),
    pytest.param(changed(HISTORY, updatedBy={"type": "ROBOT"}), "updatedBy: 'type' must be one of", id="bad-actor"),
    pytest.param(changed(RCN, accountChangeType="NICKNAME"), "'accountChangeType' must be one of", id="bad-change"),
    pytest.param(changed(NAMESPACE, access="CLOSED"), "'access' must be one of", id="bad-access"),
    pytest.param(changed(NAMESPACE, writers=...), "missing field 'writers'", id="namespace-writers"),
    pytest.param(changed(METADATA, accountId="99999"), "account CLOUD/99999 is neither in the file", id="no-account"),
    pytest.param(
        changed(CONTACT, accounts__0__id="99999"), "contact: account CLOUD/99999 is neither", id="contact-no-account"
    ),
    pytest.param(changed(STATUS, accountId="99999"), "statusChange: account CLOUD/99999", id="status-no-account"),
    pytest.param(
        changed(CONTACT, rcn="RCN-999-888-777"),
        "contact RPN-000-111-007 of RCN-999-888-777 names account CLOUD/10101, which belongs to RCN-123-456-789",
        id="contact-on-another-customers-account",
    ),
    pytest.param(
        changed(CONTACT, rcn=...), "contact RPN-000-111-007 has no rcn, so it cannot hold roles", id="contact-no-rcn"
    ),
    pytest.param(changed(ACCOUNT, name="Other"), "account CLOUD/10101 appears more than once", id="duplicate-key"),
]


@pytest.mark.parametrize(("bad", "reason"), BAD_LINES)
def test_a_bad_line_fails_the_import_with_its_number_and_writes_nothing(db, bad, reason):
    stored = AccountFactory(account_id="40404", name="Before")
    before = row_counts()
    records = [CUSTOMER, ACCOUNT, bad, METADATA, changed(ACCOUNT, id="40404", name="After")]
    with pytest.raises(ExchangeError) as caught:
        import_quietly(records)
    assert caught.value.line == 3, str(caught.value)
    assert reason in caught.value.reason
    assert str(caught.value).startswith("line 3: ")
    assert row_counts() == before
    stored.refresh_from_db()
    assert stored.name == "Before"


def test_file_errors_name_the_line_counting_blank_lines(db, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(CUSTOMER) + "\n\n" + json.dumps(ACCOUNT) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(ExchangeError) as caught:
        import_file(str(path))
    assert caught.value.line == 4
    assert "not valid JSON" in caught.value.reason
    assert Customer.objects.count() == 0


def test_invalid_utf8_is_a_line_error(db, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(json.dumps(CUSTOMER).encode() + b'\n{"customer": {"rcn": "RCN-123-456-789", "name": "\xff"}}\n')
    with pytest.raises(ExchangeError) as caught:
        import_file(str(path))
    assert caught.value.line == 2


def test_missing_file_is_an_exchange_error(db, tmp_path):
    with pytest.raises(ExchangeError, match="cannot open"):
        import_file(str(tmp_path / "absent.jsonl"))


def test_progress_is_drawn_on_a_terminal_only(db):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal, pipe = Terminal(), io.StringIO()
    import_records(GOOD, stdout=terminal)
    import_records(GOOD, stdout=pipe)
    assert "\r" in terminal.getvalue() and "records" in terminal.getvalue()
    assert pipe.getvalue() == ""
