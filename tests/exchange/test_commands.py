"""cms_import and cms_export: files, gzip, stdin/stdout, errors with line numbers and exit status."""

import gzip
import io
import json
import sys

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from accounts.models import Account, Customer
from cmsportal.exchange import ExchangeError, export_file, import_file

from .examples import example_records, load_examples
from .helpers import as_multiset, export_lines


def write_jsonl(path, records, opener=open):
    with opener(path, "wt", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def test_export_and_import_gzip_files(db, tmp_path):
    load_examples()
    path = tmp_path / "cms.jsonl.gz"
    out = io.StringIO()
    call_command("cms_export", str(path), stdout=out)
    assert f"Exported {len(example_records())} records" in out.getvalue()
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    assert lines == export_lines()
    Account.objects.all().delete()  # cascades to everything under the accounts
    assert import_file(str(path))["customerAccount"] == 8
    assert export_lines() == lines


def test_import_plain_file_command_prints_a_summary(db, tmp_path):
    path = tmp_path / "cms.jsonl"
    write_jsonl(path, example_records())
    out = io.StringIO()
    call_command("cms_import", str(path), stdout=out)
    assert "Imported 33 records" in out.getvalue()
    assert "customerAccount 8" in out.getvalue()
    assert as_multiset(json.loads(line) for line in export_lines()) == as_multiset(example_records())


def test_dash_reads_stdin_and_writes_stdout(db, monkeypatch):
    payload = "".join(json.dumps(r) + "\n" for r in example_records()).encode("utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(payload), encoding="utf-8"))
    call_command("cms_import", "-", stdout=io.StringIO())
    assert Account.objects.count() == 8

    target = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", target)
    err = io.StringIO()
    call_command("cms_export", "-", stderr=err)
    target.flush()
    written = target.buffer.getvalue().decode("utf-8")
    assert written.splitlines() == export_lines()
    assert written.endswith("\n")
    assert "Exported 33 records to stdout" in err.getvalue()  # the summary stays off the data


def test_import_error_is_a_command_error_with_the_line(db, tmp_path):
    path = tmp_path / "bad.jsonl"
    records = example_records()
    records.insert(4, {"customerAccount": {"id": "1", "type": "CLOUD"}})
    write_jsonl(path, records)
    with pytest.raises(CommandError, match=r"line 5: customerAccount: missing field 'rcn'; nothing was imported"):
        call_command("cms_import", str(path), stdout=io.StringIO())
    assert Account.objects.count() == Customer.objects.count() == 0


def test_failed_import_exits_non_zero(db, tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"customer": {"rcn": "RCN-1"}}\n', encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "cms_import", str(path), "--skip-checks"]).execute()
    assert exited.value.code == 1
    assert "line 1: customer: 'rcn' must look like RCN-123-456-789" in capsys.readouterr().err


def test_unwritable_export_path_is_an_error(db, tmp_path):
    with pytest.raises(ExchangeError, match="cannot write"):
        export_file(str(tmp_path / "missing-dir" / "out.jsonl"))


def test_import_at_verbosity_2_prints_the_time_of_each_phase(db, tmp_path):
    path = tmp_path / "cms.jsonl"
    write_jsonl(path, example_records())
    quiet, verbose = io.StringIO(), io.StringIO()
    call_command("cms_import", str(path), stdout=quiet)
    Account.objects.all().delete()
    call_command("cms_import", str(path), stdout=verbose, verbosity=2)
    assert " s\n" not in quiet.getvalue()
    phases = [line.strip().split(": ")[0] for line in verbose.getvalue().splitlines() if line.endswith(" s")]
    assert phases[0] == "reading records"
    assert {"checking keys", "writing accounts", "writing contacts", "committing"} <= set(phases)
    assert "Imported 33 records" in verbose.getvalue()
