"""PostgreSQL loads staging tables with COPY; the executemany path must give the same database."""

import pytest

from accounts.models import Account, StatusChange
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


def test_index_rebuild_for_big_loads_keeps_every_index(db, monkeypatch):
    """A big load into empty tables drops secondary indexes and rebuilds them; none may be lost."""
    from django.db import connection

    def indexes():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname"
            )
            return cursor.fetchall()

    before = indexes()
    monkeypatch.setattr(importer, "REBUILD_THRESHOLD", 1)
    rebuilt = []
    set_aside = importer._set_aside_indexes

    def spy(*args):
        statements = set_aside(*args)
        rebuilt.extend(statements)
        return statements

    monkeypatch.setattr(importer, "_set_aside_indexes", spy)
    import_quietly(example_records())
    assert any("account_domain_idx" in statement for statement in rebuilt)
    assert indexes() == before
    assert Account.objects.filter(domain="12345").count() == 1


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
