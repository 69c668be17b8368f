"""Every writer of metadata fills the entry's copy of its account's list key (`account_type`, `account_ident`).

The account list filtered by metadata is ordered and paged by that copy, so an entry whose copy is missing or
differs from its account would be listed in the wrong place, or not at all.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F, Q
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from cmsportal.exchange import import_records
from cmsportal.exchange import importer as importer_module
from cmsportal.identity.access import Actor
from metadata import services
from metadata.models import Metadata
from tests.factories import AccountFactory, CustomerFactory, MetadataFactory

ACTOR = Actor("tester", "RACKER")


def out_of_step() -> list:
    """Entries whose copy of the list key is not their account's (none, whatever wrote them)."""
    differs = ~Q(account_type=F("account__type")) | ~Q(account_ident=F("account__account_id"))
    return list(Metadata.objects.filter(differs).values_list("account__type", "account__account_id", "key"))


@pytest.mark.django_db
def test_factories_and_model_save_fill_the_list_key():
    account = AccountFactory(type="MANAGED_HOSTING", account_id="77")
    entry = MetadataFactory(account=account, key="support:level")
    assert (entry.account_type, entry.account_ident) == ("MANAGED_HOSTING", "77")
    # Only the account's primary key at hand: save() reads the account.
    bare = Metadata(account_id=account.pk, key="support:team", value="x")
    bare.save()
    assert Metadata.objects.values_list("account_type", "account_ident").get(pk=bare.pk) == ("MANAGED_HOSTING", "77")
    assert out_of_step() == []


@pytest.mark.django_db
def test_metadata_set_fills_the_list_key_and_keeps_it():
    account = AccountFactory(type="FANATICAL_SUPPORT_FOR_AWS", account_id="1234")
    entry, created = services.metadata_set(account=account, key="support:level", value="gold", actor=ACTOR)
    assert created and (entry.account_type, entry.account_ident) == ("FANATICAL_SUPPORT_FOR_AWS", "1234")
    fresh = Account.objects.get(pk=account.pk)
    # Replacing a value reads the entry and writes it: the copy is already there, the account is not read for it.
    with CaptureQueriesContext(connection) as captured:
        entry, created = services.metadata_set(account=fresh, key="support:level", value="silver", actor=ACTOR)
    assert not created
    account_table = connection.ops.quote_name(Account._meta.db_table)
    assert not [q for q in captured.captured_queries if f"FROM {account_table}" in q["sql"]]
    stored = Metadata.objects.get(pk=entry.pk)
    assert (stored.value, stored.account_type, stored.account_ident) == ("silver", "FANATICAL_SUPPORT_FOR_AWS", "1234")
    assert out_of_step() == []


def _account(account_type: str, account_id: str) -> dict:
    return {"customerAccount": {"id": account_id, "type": account_type, "rcn": "RCN-123-456-789"}}


def _metadata(account_type: str, account_id: str, key: str, value: str) -> dict:
    return {"metadata": {"accountType": account_type, "accountId": account_id, "key": key, "value": value}}


@pytest.fixture(params=["copy", "insert"])
def staging(request, monkeypatch):
    """Both ways the importer stages rows (COPY exists on PostgreSQL only; both are the same on SQLite)."""
    monkeypatch.setattr(importer_module, "USE_COPY", request.param == "copy")
    return request.param


@pytest.mark.django_db
def test_import_fills_the_list_key_on_insert_and_upsert(staging):
    stored = AccountFactory(type="MANAGED_HOSTING", account_id="900", customer=CustomerFactory(rcn="RCN-111-222-333"))
    records = [
        {"customer": {"rcn": "RCN-123-456-789"}},
        _account("CLOUD", "10101"),
        _account("FANATICAL_SUPPORT_FOR_AWS", "10101"),
        _metadata("CLOUD", "10101", "support:level", "managed"),
        _metadata("FANATICAL_SUPPORT_FOR_AWS", "10101", "support:level", "navigator"),
        # an account that is in the database, not in the file
        _metadata("MANAGED_HOSTING", "900", "support:level", "managed"),
    ]
    import_records(records, progress=False)
    expected = {
        ("CLOUD", "10101", "support:level"),
        ("FANATICAL_SUPPORT_FOR_AWS", "10101", "support:level"),
        ("MANAGED_HOSTING", "900", "support:level"),
    }
    assert set(Metadata.objects.values_list("account_type", "account_ident", "key")) == expected
    assert out_of_step() == []

    # Again, with changed values (the upsert updates them) and new keys on stored entries' accounts.
    import_records(
        [
            _metadata("CLOUD", "10101", "support:level", "intensive"),
            _metadata("CLOUD", "10101", "support:team", "Strategic"),
            _metadata("MANAGED_HOSTING", "900", "support:level", "managed"),
        ],
        progress=False,
    )
    assert Metadata.objects.get(account__type="CLOUD", key="support:level").value == "intensive"
    assert Metadata.objects.get(account=stored, key="support:level").account_ident == "900"
    assert Metadata.objects.count() == 4
    assert out_of_step() == []


LATEST_BEFORE = ("metadata", "0003_key_value_md5_index")


@pytest.mark.django_db(transaction=True)
def test_migration_copies_the_list_key_of_existing_entries():
    accounts = [AccountFactory(type=t, account_id=i) for t, i in (("CLOUD", "1"), ("MANAGED_HOSTING", "1"))]
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([LATEST_BEFORE])
        # The table as 0003 left it (the current model has columns it lacks).
        with connection.cursor() as cursor:
            for n, account in enumerate(accounts):
                cursor.execute(
                    "INSERT INTO metadata_metadata (account_id, key, value) VALUES (%s, %s, %s)",
                    [account.pk, f"a:k{n}", "v"],
                )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(targets)
    assert set(Metadata.objects.values_list("account_type", "account_ident", "key")) == {
        ("CLOUD", "1", "a:k0"),
        ("MANAGED_HOSTING", "1", "a:k1"),
    }
    assert out_of_step() == []
