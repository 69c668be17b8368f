"""The benchmark of the change log's cost: the write measurement takes out exactly the change-log work, the
change table is filled as the feed measurement needs, and the report judges the figures."""

import psycopg
import pytest
from django.db import connection

from bench import changes
from bench.report import targets, write_report
from cmsportal.changes.choices import ObjectType
from cmsportal.changes.models import Change
from metadata.models import Metadata
from tests.factories import AccountFactory


@pytest.mark.django_db(transaction=True)  # the API's writes go through the WSGI handler, as a server's would
def test_writes_are_timed_with_their_record_and_without_any_change_log_work():
    for number in range(3):
        AccountFactory(account_id=f"77000{number}")
    writes = Change.objects.exclude(object_type=ObjectType.TOKEN)  # the API client's token is recorded too
    before = writes.count()
    results = changes._measure_writes(writes=2, rounds=2)
    # Warm-up (one pass of each operation, with records) plus the "with" side of every round record a change
    # per write; the "without" side records none, though its writes happen (the metadata entry, the statuses).
    operations = len(results["operations"])
    assert writes.count() - before == operations * 2 + operations * 2 * 2
    assert set(results["operations"]) == {
        "status change",
        "metadata PUT",
        "account rename",
        "metadata PUT through the API",
    }
    assert Metadata.objects.filter(key="bench:changes").exists()
    for row in results["operations"].values():
        assert row["with_ms"] > 0 and row["without_ms"] > 0
        assert row["ratio"] == pytest.approx(row["with_ms"] / row["without_ms"], rel=0.01)
    assert results["writes_per_side"] == 4


@pytest.mark.django_db(transaction=True)
def test_the_change_table_is_filled_to_one_change_per_account_once():
    if connection.vendor != "postgresql":
        pytest.skip("the fill is PostgreSQL SQL (the benchmark's database)")
    accounts = [AccountFactory(account_id=f"78000{number}") for number in range(4)]
    settings = connection.settings_dict
    url = f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    logged = []
    assert Change.objects.count() == 0  # factories write rows, not change records
    assert changes.fill(url, logged.append)["added"] == 4
    present = Change.objects.count()
    assert present == 4
    keys = set(Change.objects.filter(actor_username="bench").values_list("object_key", flat=True))
    assert keys == {account.key for account in accounts}
    assert changes.fill(url, logged.append)["added"] == 0
    paths = changes._feed_paths(url, size=10)
    assert paths["feed_first_page"] == ["/v1/changes?limit=50"]
    assert len(paths["feed_by_marker"]) == present
    ids = {str(change.id) for change in Change.objects.all()}
    assert {path.split("marker=")[1].split("&")[0] for path in paths["feed_by_marker"]} == ids
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(DISTINCT request_id) FROM changes_change").fetchone()[0] == present


def _feed_pair(list_p50, feed_p50, list_rps, feed_rps):
    return {
        "list": {"p50": list_p50, "rps": list_rps, "errors": 0},
        "feed": {"p50": feed_p50, "rps": feed_rps, "errors": 0},
        "p50_ratio": feed_p50 / list_p50,
        "rps_ratio": feed_rps / list_rps,
    }


def test_the_change_log_targets_are_judged_and_reported(tmp_path):
    results = {
        "scale": 1000,
        "missing": [],
        "changes": {
            "table": {"changes": 1000, "added": 990},
            "writes": {
                "writes_per_side": 400,
                "rounds": 20,
                "operations": {
                    "status change": {"with_ms": 2.1, "without_ms": 2.0, "ratio": 1.05},
                    "account rename": {"with_ms": 2.4, "without_ms": 2.0, "ratio": 1.2},
                },
            },
            "feed": {
                "connections": 8,
                "seconds": 10.0,
                "rounds": 3,
                "pairs": {
                    "first page": _feed_pair(4.0, 4.2, 1000.0, 950.0),
                    "by marker": _feed_pair(4.0, 5.0, 1000.0, 800.0),
                },
            },
        },
    }
    met = {what: ok for what, _, _, ok in targets(results)}
    assert met["Write with its change record: status change"] is True
    assert met["Write with its change record: account rename"] is False
    assert met["Change feed page vs account list page, first page"] is True
    assert met["Change feed page vs account list page, by marker"] is False
    text = write_report(results, tmp_path).read_text()
    assert "## Change log: writes and feed pages" in text
    assert "| status change | 2.10 ms | 2.00 ms | 1.050 |" in text
    assert "| first page | 4.00 ms | 4.20 ms | 1.05 | 1,000 | 950 | 0.95 | 0 |" in text
    assert "Change table: 1,000 changes (990 added by this run)." in text


def test_feed_rounds_are_summarized_as_feed_over_list():
    from bench import concurrent

    runs = {
        "list": [{"p50": 4.0, "p90": 5.0, "p99": 6.0, "rps": 1000.0, "errors": 0}] * 2,
        "feed": [{"p50": 5.0, "p90": 6.0, "p99": 7.0, "rps": 800.0, "errors": 1}] * 2,
    }
    summary = concurrent.summarize(runs, base="list", measured="feed")
    assert summary["p50_ratio"] == pytest.approx(1.25) and summary["rps_ratio"] == pytest.approx(0.8)
    assert summary["feed"]["errors"] == 2 and summary["list"]["errors"] == 0
