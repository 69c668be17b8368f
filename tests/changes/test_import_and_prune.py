"""An import is one change record (its summary); cms_prune_changes deletes old records in batches."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from cmsportal import dates
from cmsportal.changes.choices import Action, ObjectType
from cmsportal.changes.management.commands.cms_prune_changes import parse_age
from cmsportal.changes.models import Change
from cmsportal.changes.services import change_record
from tests.exchange.test_import import ACCOUNT, CONTACT, CUSTOMER, METADATA, STATUS

pytestmark = pytest.mark.django_db


def test_an_import_records_one_summary(tmp_path):
    path = tmp_path / "directory-2026.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in (CUSTOMER, ACCOUNT, CONTACT, METADATA, STATUS)))
    call_command("cms_import", str(path), stdout=io.StringIO())
    (summary,) = Change.objects.all()
    assert (summary.object_type, summary.object_key, summary.action) == ("import", "directory-2026.jsonl", "import")
    assert (summary.actor_username, summary.actor_type) == ("cms_import", "SYSTEM")
    assert summary.before is None
    assert {kind: n for kind, n in summary.after.items() if n} == {
        "customer": 1,
        "customerAccount": 1,
        "contact": 1,
        "metadata": 1,
        "statusChange": 1,
    }


def test_a_failed_import_records_nothing(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(CUSTOMER) + "\n" + json.dumps({"customerAccount": {"id": "1"}}) + "\n")
    with pytest.raises(CommandError):
        call_command("cms_import", str(path), stdout=io.StringIO())
    assert not Change.objects.exists()


def test_seed_demo_records_its_import_as_the_command(settings):
    call_command("seed_demo", accounts=3, verbosity=0, stdout=io.StringIO())
    (summary,) = Change.objects.filter(object_type="import")
    assert (summary.object_key, summary.actor_username, summary.actor_type) == ("seed_demo", "seed_demo", "SYSTEM")
    assert summary.after["customerAccount"] >= 3
    # The groups it makes first are its own changes too, of the same run; nothing else is recorded.
    others = Change.objects.exclude(pk=summary.pk)
    assert set(others.values_list("object_type", "action")) == {("group", "create")}
    assert set(Change.objects.values_list("actor_username", "request_id")) == {("seed_demo", summary.request_id)}


def _records(ages_in_days: list[int]) -> list[int]:
    ids = []
    for age in ages_in_days:
        change = change_record(
            object_type=ObjectType.CUSTOMER, object_key=f"RCN-{age}", action=Action.CREATE, after={"name": "x"}
        )
        Change.objects.filter(pk=change.pk).update(time=dates.now() - timedelta(days=age))
        ids.append(change.pk)
    return ids


@pytest.mark.parametrize("text, expected", [("400d", timedelta(days=400)), ("36h", timedelta(hours=36))])
def test_ages(text, expected):
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "400", "0d", "-3d", "4w", "d"])
def test_bad_ages_are_refused(text):
    with pytest.raises(CommandError):
        call_command("cms_prune_changes", older_than=text, stdout=io.StringIO())


def test_prune_deletes_only_older_records_in_batches():
    ids = _records([500, 450, 401, 420, 399, 10, 0])
    out = io.StringIO()
    call_command("cms_prune_changes", older_than="400d", batch=2, stdout=out)
    assert sorted(Change.objects.values_list("pk", flat=True)) == [ids[4], ids[5], ids[6]]
    lines = out.getvalue().splitlines()
    assert lines[:2] == [f"  deleted 2 (ids up to {ids[1]})", f"  deleted 4 (ids up to {ids[3]})"]
    assert lines[-1].startswith("Deleted 4 change records older than ")


def test_prune_default_and_dry_run():
    ids = _records([401, 399])
    out = io.StringIO()
    call_command("cms_prune_changes", dry_run=True, stdout=out)
    assert out.getvalue().startswith("Would delete 1 change records")
    assert Change.objects.count() == 2
    call_command("cms_prune_changes", stdout=io.StringIO())
    assert list(Change.objects.values_list("pk", flat=True)) == [ids[1]]
    call_command("cms_prune_changes", older_than="1h", stdout=io.StringIO())
    assert not Change.objects.exists()
