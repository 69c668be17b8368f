"""Files read by worker processes (parallel.py): the same database, the same errors, as reading them in-process."""

import gzip
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings

from cmsportal.exchange import ExchangeError, import_file, importer, parallel

from .examples import example_records
from .helpers import as_multiset, db_state, export_lines, in_rollback
from .test_import import ACCOUNT, BAD_LINES, CUSTOMER, GOOD, METADATA, changed
from .test_round_trip import exchange_files


def lines_of(records) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode("utf-8") + b"\n" for r in records)


def outcome(path: str, *, in_workers: bool):
    """What importing `path` does: the database it leaves, or the error; always rolled back."""
    importer.PARALLEL = in_workers
    try:
        return ("ok", in_rollback(lambda: (import_file(path), db_state())))
    except ExchangeError as exc:
        return ("error", exc.line, exc.reason)
    finally:
        importer.PARALLEL = True


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few lines, so that a small file is spread over many blocks and both workers."""
    monkeypatch.setattr(parallel, "BLOCK", 300)


def test_blocks_number_lines_as_iterating_the_file_does(small_blocks):
    for data in [b"", b"a", b"a\n", b"a\nb", b"a\n\nb\n", b"\n", b"a\r\nb\r\n", b"x" * 5000 + b"\ny\n" + b"z\n" * 700]:
        blocks = list(parallel.blocks(io.BytesIO(data)))
        assert b"".join(block for _, block in blocks) == data
        numbered = [(first + i, line) for first, block in blocks for i, line in enumerate(io.BytesIO(block))]
        assert numbered == list(enumerate(io.BytesIO(data), 1)), data


def test_copy_text_keeps_every_character():
    row = (1, 2, "RPN-000-111-007", "a\tb\nc\\d\re", None, "\x0b\x0c é \u2028", True, False, "+1")
    text = parallel.FORMATTERS["phone"]([row]).encode("utf-8")
    fields = text.decode("utf-8").rstrip("\n").split("\t")
    assert fields == ["1", "2", "RPN-000-111-007", "a\\tb\\nc\\\\d\\re", "\\N", "\x0b\x0c é \u2028", "t", "f", "+1"]


@pytest.mark.postgres
def test_files_are_read_by_workers_on_postgresql(db, tmp_path, monkeypatch, small_blocks):
    used = []
    read = parallel.read_parallel
    monkeypatch.setattr(parallel, "read_parallel", lambda *args: used.append(1) or read(*args))
    path = tmp_path / "examples.jsonl"
    path.write_bytes(lines_of(example_records()))
    workers = outcome(str(path), in_workers=True)
    assert used
    assert workers == outcome(str(path), in_workers=False)
    assert workers[0] == "ok" and workers[1][0]["customerAccount"] == 8


@pytest.mark.postgres
def test_gzip_blank_lines_crlf_and_no_final_newline(db, tmp_path, small_blocks):
    data = lines_of(GOOD[:3]) + b"\n   \n" + lines_of(GOOD[3:]).replace(b"\n", b"\r\n").rstrip(b"\r\n")
    path = tmp_path / "odd.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(data)
    workers = outcome(str(path), in_workers=True)
    assert workers[0] == "ok"
    assert workers == outcome(str(path), in_workers=False)


@pytest.mark.postgres
def test_a_worker_that_dies_fails_the_import_instead_of_hanging(db, tmp_path, monkeypatch, small_blocks):
    """A worker killed mid-file (out of memory, a signal) breaks the pool: the import stops with a clear
    error at once and nothing is committed, where a waiting importer would hang for ever."""
    import os

    decode = parallel.decode

    def dies_on_line_20(line, record, buffers):
        if line == 20:
            os._exit(9)  # the worker is gone without a word, as a killed process is
        return decode(line, record, buffers)

    monkeypatch.setattr(parallel, "decode", dies_on_line_20)  # the workers are forked after this: they see it
    path = _file_with(tmp_path, json.dumps(changed(ACCOUNT, id="x1", number=77)).encode(), 30, later_error=False)
    before = in_rollback(db_state)
    result = outcome(path, in_workers=True)
    assert result[0] == "error" and result[1] is None, result
    assert "worker process" in result[2] and "stopped unexpectedly" in result[2] and "nothing was imported" in result[2]
    assert in_rollback(db_state) == before


BAD_RAW_LINES = [
    pytest.param(b"{not json", id="not-json"),
    pytest.param(b'{"customer": {"rcn": "RCN-123-456-789"', id="cut-short"),
    pytest.param(b"[1, 2", id="cut-short-list"),
    pytest.param(json.dumps(changed(ACCOUNT, number=2**70)).encode(), id="integer-beyond-64-bits"),
    pytest.param(json.dumps(changed(ACCOUNT, number=-(2**70))).encode(), id="negative-beyond-64-bits"),
    pytest.param(json.dumps(ACCOUNT).replace('"10101",', "NaN,", 1).encode(), id="nan"),
    pytest.param(json.dumps(ACCOUNT).replace('"number": 10101', '"number": 1e400').encode(), id="infinity"),
    pytest.param(json.dumps(changed(ACCOUNT, name="\ud800")).encode(), id="lone-surrogate-escape"),
    pytest.param(b"\xef\xbb\xbf" + json.dumps(CUSTOMER).encode(), id="byte-order-mark"),
    pytest.param(b'{"customer": {"rcn": "RCN-123-456-789", "name": "\xff"}}', id="invalid-utf8"),
    pytest.param(b"[" * 100_000, id="too-deep"),
]


def _file_with(tmp_path, bad: bytes, position: int, *, later_error: bool = True) -> str:
    good = lines_of([CUSTOMER, ACCOUNT, *(changed(ACCOUNT, id=str(n), number=n) for n in range(39)), METADATA])
    lines = good.splitlines(keepends=True)
    lines.insert(position, bad + b"\n")
    if later_error:  # a later bad line, never the one reported
        lines.append(json.dumps(changed(ACCOUNT, type="nope")).encode() + b"\n")
    path = tmp_path / f"bad{position}.jsonl"
    path.write_bytes(b"".join(lines))
    return str(path)


@pytest.mark.postgres
@pytest.mark.parametrize("bad", BAD_RAW_LINES)
def test_bad_lines_are_reported_as_in_process(db, tmp_path, small_blocks, bad):
    for position in (0, 17, 42):
        path = _file_with(tmp_path, bad, position)
        workers = outcome(path, in_workers=True)
        assert workers == outcome(path, in_workers=False)
        # A byte order mark is accepted: the file's later error is the one reported.
        line = 44 if bad.startswith(b"\xef\xbb\xbf") else position + 1
        assert workers[:2] == ("error", line), workers


@pytest.mark.postgres
@pytest.mark.parametrize(("bad", "reason"), BAD_LINES)
def test_invalid_records_are_reported_as_in_process(db, tmp_path, small_blocks, bad, reason):
    # Errors found after reading (duplicates, missing accounts) come after any bad line: none is added.
    path = _file_with(tmp_path, json.dumps(bad).encode(), 17, later_error=False)
    workers = outcome(path, in_workers=True)
    assert workers == outcome(path, in_workers=False)
    assert workers[0] == "error" and reason in workers[2]


@pytest.mark.postgres
def test_a_truncated_gzip_file_names_the_line_as_in_process(db, tmp_path, small_blocks):
    data = lines_of([CUSTOMER, *(changed(ACCOUNT, id=str(n), number=n, name=f"{n**3:x}") for n in range(3000))])
    path = tmp_path / "cut.jsonl.gz"
    compressed = gzip.compress(data)
    path.write_bytes(compressed[: len(compressed) // 2])
    workers = outcome(str(path), in_workers=True)
    assert workers[0] == "error" and "cannot read the file" in workers[2]
    assert workers == outcome(str(path), in_workers=False)


@pytest.mark.postgres
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exchange_files())
def test_generated_files_import_alike(db, tmp_path, records):
    """Any text (tabs, newlines, backslashes, any Unicode) survives the workers' COPY text."""
    path = tmp_path / "generated.jsonl"
    path.write_bytes(lines_of(records))
    importer.PARALLEL = True
    exported = in_rollback(lambda: (import_file(str(path)), export_lines())[1])
    assert as_multiset(json.loads(line) for line in exported) == as_multiset(records)


@pytest.mark.postgres
def test_progress_is_drawn_for_files_read_by_workers(db, tmp_path, small_blocks):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    path = tmp_path / "examples.jsonl"
    path.write_bytes(lines_of(example_records()))
    terminal = Terminal()
    in_rollback(lambda: import_file(str(path), stdout=terminal))
    assert "\rimported 33 records: checking keys" in terminal.getvalue()


@pytest.mark.postgres
def test_of_two_bad_lines_close_together_the_first_is_reported(db, tmp_path, small_blocks):
    """Blocks are taken in order, also when the next ones are already done."""
    lines = lines_of([CUSTOMER, *(changed(ACCOUNT, id=str(n), number=n) for n in range(40))]).splitlines(True)
    for position in (10, 12, 14, 30):
        lines[position] = json.dumps(changed(ACCOUNT, id=str(position), type="nope")).encode() + b"\n"
    path = tmp_path / "two.jsonl"
    path.write_bytes(b"".join(lines))
    workers = outcome(str(path), in_workers=True)
    assert workers[:2] == ("error", 11)
    assert workers == outcome(str(path), in_workers=False)
