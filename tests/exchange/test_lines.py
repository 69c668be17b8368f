"""The export writes, byte for byte, the records the API representations give (records.py's `*_record`
functions through `record_text`), whatever the data; and its reading thread stops cleanly."""

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Prefetch
from hypothesis import HealthCheck, given, settings

from accounts.choices import AccountType
from accounts.models import Account, AccountHistory, Customer, RCNChange, StatusChange, chronological
from cmsportal.dates import format_date
from cmsportal.exchange import encode_record, export_records, exporter, records
from contacts.models import AccountContact, AccountContactRole, Address, Contact, EmailAddress, PhoneNumber
from metadata.models import Metadata, Namespace
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    AccountHistoryFactory,
    AddressFactory,
    ContactFactory,
    CustomerFactory,
    EmailAddressFactory,
    MetadataFactory,
    NamespaceFactory,
    PhoneNumberFactory,
    RCNChangeFactory,
    StatusChangeFactory,
)

from .helpers import export_lines, import_quietly, in_rollback
from .test_round_trip import exchange_files

# Text the JSON encoders must agree on: quotes, backslashes, every control character, DEL,
# non-ASCII, astral characters, the line and paragraph separators (JSON leaves them unescaped).
AWKWARD = '"q" \\ / \x01\x08\t\n\x0c\r\x1f\x7f é 中 😀 \u2028\u2029 \x85'


def reference_lines() -> list[str]:
    """The export as the representation functions write it: model instances through the ORM, in the
    canonical order (exporter's docstring), each record through records.py's `*_record` and `record_text`."""
    lines = [
        records.record_text(records.customer_record(customer))
        for customer in Customer.objects.filter(implicit=False).order_by("rcn")
    ]
    for namespace in Namespace.objects.order_by("name"):
        readers = Namespace.readers.through.objects.filter(namespace=namespace).order_by("id")
        writers = Namespace.writers.through.objects.filter(namespace=namespace).order_by("id")
        lines.append(
            records.record_text(
                records.namespace_record(namespace, [r.group.name for r in readers], [w.group.name for w in writers])
            )
        )
    accounts = [
        account
        for account_type in sorted(AccountType.values)
        for account in Account.objects.filter(type=account_type).select_related("customer").order_by("account_id")
    ]
    lines += [records.record_text(records.account_record(account)) for account in accounts]
    contacts = (
        Contact.objects.select_related("customer")
        .prefetch_related(
            Prefetch("addresses", queryset=Address.objects.order_by("id")),
            Prefetch("email_addresses", queryset=EmailAddress.objects.order_by("id")),
            Prefetch("phone_numbers", queryset=PhoneNumber.objects.order_by("id")),
            Prefetch(
                "account_links",
                queryset=AccountContact.objects.select_related("account")
                .order_by("id")
                .prefetch_related(Prefetch("roles", queryset=AccountContactRole.objects.order_by("id"))),
            ),
        )
        .order_by("contact_number")
    )
    for contact in contacts:
        lines.append(records.record_text(records.contact_record(contact, contact.account_links.all())))
    trails = (
        (Metadata, ("key",), records.metadata_record),
        (StatusChange, ("date", "id"), records.status_change_record),
        (AccountHistory, chronological("updated_date")[0], records.account_history_record),  # undated last
        (RCNChange, chronological("date")[0], records.rcn_change_record),
    )
    for model, order, record in trails:
        for account in accounts:
            lines += [
                records.record_text(record(account, row))
                for row in model.objects.filter(account=account).order_by(*order)
            ]
    return lines


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of two rows and two accounts: every batch boundary is exercised by a few records."""
    monkeypatch.setattr(exporter, "BATCH", 2)
    monkeypatch.setattr(exporter, "RANGE", 2)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exchange_files())
def test_export_writes_what_the_representations_give(db, small_batches, records):
    def compare():
        import_quietly(records)
        return export_lines(), reference_lines()

    exported, expected = in_rollback(compare)
    assert exported == expected


def _awkward_world():
    """Rows the import would never write in this shape: optional values absent, text every encoder
    must escape alike, extreme integers, dates with microseconds and other time zones, a link
    without roles, a contact without customer or children, actors with only a type."""
    eastern = timezone(timedelta(hours=-5))
    customer = CustomerFactory(rcn="RCN-000-000-001", name=AWKWARD)
    CustomerFactory(rcn="RCN-000-000-002", name=None)
    bare = AccountFactory(
        customer=customer,
        type=AccountType.MANAGED_HOSTING,
        account_id="0",
        number=None,
        name=None,
        status=None,
        tenant_id=None,
        domain=None,
        service_level=None,
        collections_status=None,
        access_policy=None,
        last_updated_by=None,
        last_updated_date=None,
    )
    full = AccountFactory(
        customer=customer,
        account_id="é-1",
        number=-(2**63),
        nickname=AWKWARD,
        parent_account_number=2**63 - 1,
        created_by="x",
        created_date=datetime(2015, 4, 21, 18, 0, 0, 999999, tzinfo=UTC),
        last_updated_date=datetime(2015, 4, 21, 13, 0, 0, 1500, tzinfo=eastern),
    )
    ContactFactory(contact_number="RPN-000-000-009", customer=None, first_name=None, last_name=None, username=None)
    link = AccountContactFactory(
        account=full, contact__contact_number="RPN-000-000-001", contact__title=AWKWARD, roles=["TECHNICAL", "BILLING"]
    )
    AccountContactFactory(account=bare, contact=link.contact, roles=[])
    AddressFactory(contact=link.contact, street=None, city=AWKWARD, state=None, zipcode=None, country=None)
    AddressFactory(contact=link.contact, primary=False)
    EmailAddressFactory(contact=link.contact, address=AWKWARD, primary=False)
    PhoneNumberFactory(contact=link.contact, country=None, mask=None, sms_verify=True)
    MetadataFactory(account=full, key="a:b", value="", created_by=None, created_date=None)
    MetadataFactory(account=full, key="a:a", value=AWKWARD)
    StatusChangeFactory(account=full, date=datetime(2020, 1, 1, tzinfo=UTC), status=None, usertype=None)
    StatusChangeFactory(account=full, date=datetime(2019, 1, 1, 0, 0, 0, 123456, tzinfo=eastern), fraud_status="X")
    AccountHistoryFactory(account=full, updated_by_username=None, rcn=None, updated_date=None)
    AccountHistoryFactory(account=full, updated_by_username=None, updated_by_type=None, nickname=AWKWARD)
    AccountHistoryFactory(account=bare, destination_updated_by_username=AWKWARD, destination_updated_by_type="USER")
    RCNChangeFactory(account=full, username=None, rcn=None, date=None)
    RCNChangeFactory(account=bare, change_type="MERGE")
    namespace = NamespaceFactory(name="z")
    NamespaceFactory(name="a")
    namespace.writers.add(Group.objects.create(name=AWKWARD), Group.objects.create(name="b"))
    namespace.readers.add(Group.objects.create(name="r"))


@pytest.mark.parametrize("batch", [2, exporter.BATCH])
def test_export_of_awkward_rows_matches_the_representations(db, monkeypatch, batch):
    monkeypatch.setattr(exporter, "BATCH", batch)
    monkeypatch.setattr(exporter, "RANGE", batch)
    _awkward_world()
    lines = export_lines()
    assert lines == reference_lines()
    assert len(lines) == 2 + 2 + 2 + 2 + 2 + 2 + 3 + 2  # customers, namespaces, accounts, contacts, trails


def test_export_records_are_the_lines_parsed(db):
    _awkward_world()
    assert [encode_record(record) for record in export_records()] == export_lines()


# The line encoders alone, on rows with and without absent values, are held to the declarations
# and to the representation functions in test_encoders.py (rows generated from the declarations).


def test_dates_are_formatted_by_the_database_as_format_date_does(db):
    """PostgreSQL's `to_char` and SQLite's datetimes through `format_date` write the same text."""
    moments = [
        datetime(2015, 4, 21, 18, 0, 0, 467000, tzinfo=UTC),
        datetime(2020, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # truncated, never rounded up
        datetime(2020, 6, 1, 1, 2, 3, 4567, tzinfo=timezone(timedelta(hours=9, minutes=30))),
        datetime(1000, 1, 1, tzinfo=UTC),
        datetime(999, 12, 31, 1, 2, 3, tzinfo=UTC),  # four-digit years on both
    ]
    for moment in moments:
        StatusChangeFactory(date=moment)
    db = exporter._Reader(connection)
    rows = db.rows(f"SELECT {db.date('date')} FROM accounts_statuschange ORDER BY id", [])  # noqa: S608
    db.cursor.close()
    assert [row[0] for row in rows] == [format_date(moment) for moment in moments]


# -- the reading thread ------------------------------------------------------------------------------


def test_read_ahead_keeps_order_and_raises_the_readers_error():
    def items():
        yield from range(5)
        raise LookupError("boom")

    got = []
    with pytest.raises(LookupError, match="boom"), exporter._ReadAhead(items()) as ahead:
        got.extend(ahead)
    assert got == [0, 1, 2, 3, 4]


def test_read_ahead_stopped_early_closes_the_reader():
    closed = threading.Event()

    def items():
        try:
            yield from range(1000)
        finally:
            closed.set()

    with exporter._ReadAhead(items()) as ahead:
        for item in ahead:
            if item == 3:
                break
    assert closed.is_set()
    assert not ahead.thread.is_alive()


def test_an_export_stopped_early_leaves_the_connection_as_it_was(db, small_batches):
    for _ in range(3):
        AccountFactory()
    chunks = exporter.export_chunks()
    count, chunk = next(chunks)
    assert count == 2 and chunk.count(b"\n") == 2
    assert connection.allow_thread_sharing
    chunks.close()
    assert not connection.allow_thread_sharing
    assert Account.objects.count() == 3  # the connection is usable


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_export_in_autocommit_reads_one_snapshot_with_its_settings_scoped():
    AccountFactory()
    MetadataFactory()
    with connection.cursor() as cursor:
        cursor.execute("SHOW cursor_tuple_fraction")
        before = cursor.fetchone()
    chunks = exporter.export_chunks()
    next(chunks)
    assert connection.in_atomic_block  # the export's own REPEATABLE READ transaction
    lines = b"".join(chunk for _, chunk in chunks)
    assert not connection.in_atomic_block
    assert lines.count(b"\n") == 3  # after the two customers: the two accounts and the metadata
    with connection.cursor() as cursor:
        cursor.execute("SHOW cursor_tuple_fraction")
        assert cursor.fetchone() == before
    with transaction.atomic():
        assert Metadata.objects.count() == 1
