"""PrecompiledTogether: several precompiled queries in one statement read exactly what each reads by itself."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import StatusChange
from cmsportal.api.precompiled import PrecompiledQuery, PrecompiledTogether
from contacts.models import AccountContactRole, Address, EmailAddress, PhoneNumber
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    AddressFactory,
    ContactFactory,
    EmailAddressFactory,
    PhoneNumberFactory,
    StatusChangeFactory,
)

pytestmark = pytest.mark.django_db

NO_ID = -(2**31) + 17


def _of_account(model, prefix, *order):
    return PrecompiledQuery(
        lambda account_id, low: model.objects.filter(
            **{f"{prefix}account_links__account_id": account_id, f"{prefix}contact_number__gte": low}
        ).order_by(*order),
        model,
        placeholders=[NO_ID, "\x00low"],
    )


QUERIES = (
    _of_account(Address, "contact__", "contact_id", "id"),
    _of_account(EmailAddress, "contact__", "-id"),  # descending
    _of_account(PhoneNumber, "contact__", "contact_id", "-id"),
    PrecompiledQuery(
        lambda account_id, low: AccountContactRole.objects.filter(
            link__account_id=account_id, link__contact__contact_number__gte=low
        ).order_by("link_id", "id"),
        AccountContactRole,
        placeholders=[NO_ID, "\x00low"],
        related=["link"],
    ),
)


def _fields(obj) -> dict:
    """What an instance holds: its columns, its loaded related objects' columns, its database and state."""
    held = {key: value for key, value in vars(obj).items() if key != "_state"}
    related = {name: _fields(other) for name, other in obj._state.fields_cache.items()}
    return {"type": type(obj), "db": obj._state.db, "adding": obj._state.adding, **held, "related": related}


@pytest.fixture
def directory():
    accounts = [AccountFactory(), AccountFactory()]
    for n in range(6):
        contact = ContactFactory(contact_number=f"RPN-000-000-{n:03d}", customer=accounts[n % 2].customer)
        AccountContactFactory(account=accounts[n % 2], contact=contact, roles=["TECHNICAL", "BILLING"][: n % 3])
        for _ in range(n % 3):  # some contacts have none of a kind
            AddressFactory(contact=contact, street=None if n == 4 else f"{n} Main 'St' \"%s\" ü")
            EmailAddressFactory(contact=contact)
            PhoneNumberFactory(contact=contact, sms_verify=n % 2 == 0)
    return accounts


def test_together_reads_what_each_query_reads_by_itself(directory):
    together = PrecompiledTogether(*QUERIES)
    checked = 0
    for account in directory:
        for low in ("RPN-000-000-000", "RPN-000-000-003", "RPN-999"):
            alone = [query.fetch(account.pk, low) for query in QUERIES]
            with CaptureQueriesContext(connection) as queries:
                found = together.fetch(account.pk, low)
            # One statement on PostgreSQL; each query by itself elsewhere.
            assert len(queries) == (1 if connection.vendor == "postgresql" else len(QUERIES))
            assert [[_fields(obj) for obj in rows] for rows in found] == [
                [_fields(obj) for obj in rows] for rows in alone
            ]
            checked += sum(len(rows) for rows in alone)
    assert checked > 20  # the data holds rows of every kind


@pytest.mark.postgres
def test_columns_json_would_change_are_refused():
    dated = PrecompiledQuery(
        lambda account_id: StatusChange.objects.filter(account_id=account_id).order_by("id"),
        StatusChange,
        placeholders=[NO_ID],
    )
    StatusChangeFactory(account=AccountFactory())
    with pytest.raises(ValueError, match="StatusChange.date"):
        PrecompiledTogether(QUERIES[0], dated).fetch(1)


@pytest.mark.postgres
def test_an_order_by_another_tables_column_is_refused():
    by_contact = PrecompiledQuery(
        lambda account_id: Address.objects.filter(contact__account_links__account_id=account_id).order_by(
            "contact__contact_number"
        ),
        Address,
        placeholders=[NO_ID],
    )
    with pytest.raises(ValueError, match="ordered by contact__contact_number"):
        PrecompiledTogether(by_contact).fetch(1)
