"""PostgreSQL loads staging tables with COPY; the executemany path must give the same database."""

import json
from functools import partial

import pytest

from accounts.models import Account, Customer, StatusChange
from cmsportal.exchange import importer

from .examples import example_records
from .helpers import db_state, import_quietly, in_rollback

pytestmark = pytest.mark.postgres


def _scenario():
    """A first load, then a second file that updates, replaces links and repeats history."""
    records = example_records()
    import_quietly(records)
    second = [r for r in example_records(managed_hosting="list") if "statusChange" in r or "customerAccount" in r]
    second.append({"customer": {"rcn": "RCN-123-456-789", "name": "FreeLancer Corp"}})
    second.append(
        {
            "contact": {
                "contactNumber": "RPN-000-111-007",
                "rcn": "RCN-123-456-789",
                "notificationPreferences": dict.fromkeys(
                    ("doNotFax", "doNotCall", "doNotEmail", "doNotMail", "doNotSurvey"), True
                ),
                "accounts": [{"type": "CLOUD", "id": "10101", "roles": ["PRIMARY", "BILLING"]}],
            }
        }
    )
    second.append(
        {"statusChange": {"accountType": "CLOUD", "accountId": "RAN2823", "date": "2020-01-01T00:00:00.000Z"}}
    )
    import_quietly(second)
    return db_state()


def test_copy_is_used_on_postgresql(db, monkeypatch):
    tables = []
    write = importer.CopyStaging.write

    def counting(self, name, rows):
        tables.append(name)
        write(self, name, rows)

    monkeypatch.setattr(importer.CopyStaging, "write", counting)
    import_quietly(example_records())
    assert {"account", "contact", "metadata", "status", "history", "rcn", "role"} <= set(tables)
    assert Account.objects.count() == 8


def test_copy_and_executemany_paths_give_the_same_database(db, monkeypatch):
    with_copy = in_rollback(_scenario)
    monkeypatch.setattr(importer, "USE_COPY", False)
    with_inserts = in_rollback(_scenario)
    assert with_copy == with_inserts
    assert with_copy["implicit"] == ["RCN-999-888-777"]
    assert with_copy["counts"]["accounts.StatusChange"] == 4
    assert StatusChange.objects.count() == 0  # both rolled back


def _schema():
    """Every index and constraint of the schema, by name, with its definition."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname"
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), condeferrable, condeferred, "
            "convalidated FROM pg_constraint WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2"
        )
        return indexes, cursor.fetchall()


def test_big_loads_set_aside_indexes_and_foreign_keys_and_restore_every_one(db, monkeypatch):
    """A big load into empty tables drops secondary indexes and foreign keys and restores them; none may be lost."""
    before = _schema()
    monkeypatch.setattr(importer, "REBUILD_THRESHOLD", 1)
    set_aside = []
    original = importer._set_aside

    def spy(*args):
        aside = original(*args)
        set_aside.append(aside)
        return aside

    monkeypatch.setattr(importer, "_set_aside", spy)
    import_quietly([*example_records(), {"customer": {"rcn": "RCN-123-456-789", "name": "FreeLancer Corp"}}])
    (aside,) = set_aside
    assert any("account_domain_idx" in statement for statement in aside.indexes)
    assert any("REFERENCES accounts_account(id)" in statement for statement in aside.foreign_keys)
    assert any("REFERENCES accounts_customer(id)" in statement for statement in aside.foreign_keys)
    assert any("account_type_id_uniq UNIQUE (type, account_id)" in statement for statement in aside.indexes)
    assert _schema() == before
    assert Account.objects.filter(domain="12345").count() == 1
    # Into empty tables the upserts are plain inserts; implicit customers are the RCNs no customer record names.
    assert list(Customer.objects.filter(implicit=True).values_list("rcn", flat=True)) == ["RCN-999-888-777"]


def test_big_loads_into_empty_tables_give_the_same_database(db, monkeypatch):
    with_set_aside = in_rollback(_scenario)
    monkeypatch.setattr(importer, "REBUILD_THRESHOLD", 1)
    assert in_rollback(_scenario) == with_set_aside


def test_foreign_keys_to_tables_with_rows_stay(db, monkeypatch):
    """Dropping a foreign key locks the table it references: only empty ones are, so readers never wait."""
    from tests.factories import AccountFactory

    AccountFactory(account_id="777")  # accounts (and customers) are not empty: their foreign keys stay
    monkeypatch.setattr(importer, "REBUILD_THRESHOLD", 1)
    set_aside = []
    original = importer._set_aside
    monkeypatch.setattr(importer, "_set_aside", lambda *args: set_aside.append(original(*args)) or set_aside[-1])
    records = [
        {"metadata": {"accountType": "CLOUD", "accountId": "777", "key": f"support:k{n}", "value": "v"}}
        for n in range(3)
    ]
    import_quietly(records)
    (aside,) = set_aside
    assert aside.targets == {"metadata"}
    assert aside.indexes and not aside.foreign_keys
    assert Account.objects.get(account_id="777").metadata.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_large_import_leaves_fresh_planner_statistics(monkeypatch):
    """A bulk load is followed by ANALYZE, so the planner does not treat the new tables as empty."""
    from django.db import connection

    from cmsportal.exchange import import_records

    monkeypatch.setattr(importer, "ANALYZE_THRESHOLD", 10)
    records = [
        {"customerAccount": {"id": str(1000 + n), "type": "CLOUD", "rcn": "RCN-100-200-300", "status": "Active"}}
        for n in range(50)
    ]
    import_records(records, progress=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'accounts_account'")
        assert cursor.fetchone()[0] == 50


def _refusals(tmp_path):
    """Both ways a file can break "a contact holds roles only on its own customer's accounts", each
    imported through a file (the workers' path when available) and as records (in process)."""
    from cmsportal.exchange import ExchangeError, import_file

    from .helpers import row_counts
    from .test_import import ACCOUNT, CONTACT, GOOD, METADATA, changed

    import_quietly(GOOD)
    before = row_counts()
    cases = [
        # A contact naming an account the same file gives to another customer: the contact's line.
        ([changed(ACCOUNT, id="20202", number=20202), changed(ACCOUNT, rcn="RCN-999-888-777"), CONTACT], 3),
        # An account moved away from a stored contact the file does not restate: the account's line.
        ([METADATA, changed(ACCOUNT, rcn="RCN-999-888-777")], 2),
    ]
    seen = []
    for records, line in cases:
        path = tmp_path / f"refused{line}.jsonl"
        path.write_text("".join(json.dumps(record) + "\n" for record in records))
        for attempt in (partial(import_quietly, records), partial(import_file, str(path))):
            with pytest.raises(ExchangeError) as caught:
                attempt()
            assert caught.value.line == line, str(caught.value)
            assert "a contact holds roles only on its own customer's accounts" in caught.value.reason
            assert row_counts() == before
            seen.append(str(caught.value))
    return seen


@pytest.mark.parametrize("path", ["copy", "copy-in-process", "executemany"])
def test_cross_customer_roles_are_refused_on_every_import_path(db, tmp_path, monkeypatch, path):
    from cmsportal.exchange import parallel

    used = []
    read = parallel.read_parallel
    monkeypatch.setattr(parallel, "read_parallel", lambda *args: used.append(1) or read(*args))
    monkeypatch.setattr(importer, "USE_COPY", path != "executemany")
    monkeypatch.setattr(importer, "PARALLEL", path == "copy")
    messages = _refusals(tmp_path)
    assert bool(used) == (path == "copy" and parallel.available())
    assert messages[0] == messages[1] and messages[2] == messages[3]  # the file and the records alike
    assert messages[0].startswith("line 3: contact RPN-000-111-007 of RCN-123-456-789 names account CLOUD/10101")
    assert messages[2].startswith("line 2: account CLOUD/10101 belongs to RCN-999-888-777 here")
