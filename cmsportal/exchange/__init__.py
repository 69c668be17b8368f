"""The CMS exchange format (EXCHANGE.md): JSON Lines of records, imported and exported whole.

Public functions (stable; the demo data generator and the management commands call them):

    import_records(records, *, stdout=None, progress=True) -> dict
        Import already-parsed records (dicts), numbered from 1 like lines. Returns the number of
        records read per kind: {"customer": n, "namespace": n, "customerAccount": n, ...}.
    import_file(path, *, stdout=None) -> dict
        Import a file: "-" reads stdin, a ".gz" suffix means gzip.
    export_records() -> Iterator[dict]
        Every record, in canonical order, streaming.
    export_file(path, *, stdout=None) -> int
        Write every record, one compact JSON object per line: "-" writes stdout, ".gz" gzips.
        Returns the number of records written.
    encode_record(record) -> str
        One record as a line of the file (compact JSON, no newline).
    ExchangeError(line, reason)
        The only exception: `.line` (from 1, or None) and `.reason`. Nothing is written when an
        import raises it.

`stdout` is the console: progress (records and rate, redrawn on one line) appears only when it is
a terminal. The representation functions the API shares live in `representations`.

Rules (EXCHANGE.md): records in any order; upsert by natural key (customer by rcn, account by
type+id, contact by contactNumber, metadata by account+key, namespace by name); a contact's account
links, roles, addresses, emails and phones, and a namespace's readers and writers, are replaced by
the file's; customers created only because an account or contact names their RCN are `implicit`
and not exported; history is appended, skipping exact duplicates of stored rows; the import writes
what the file says and adds no history; one bad line fails the whole import with its line number.
"""

import gzip
import json
import sys
from collections.abc import Iterable, Iterator

from django.db import connection, transaction

from .errors import ExchangeError
from .exporter import export_records as _export_records
from .importer import import_numbered, numbered_lines
from .progress import Progress

__all__ = ["ExchangeError", "encode_record", "export_file", "export_records", "import_file", "import_records"]


def import_records(records: Iterable[dict], *, stdout=None, progress: bool = True) -> dict:
    """Import parsed records (numbered from 1 like lines) in one transaction; returns counts per kind."""
    return import_numbered(enumerate(records, 1), stdout=stdout, progress=progress)


def _open_input(path: str):
    if path == "-":
        return sys.stdin.buffer
    try:
        return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise ExchangeError(None, f"cannot open {path}: {exc.strerror or exc}") from None


def import_file(path: str, *, stdout=None) -> dict:
    """Import a JSON Lines file ("-" = stdin, ".gz" = gzip); returns counts per kind."""
    stream = _open_input(path)
    try:
        return import_numbered(numbered_lines(stream), stdout=stdout)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def export_records() -> Iterator[dict]:
    """Every record of the database in canonical order, streaming in constant memory."""
    return _export_records()


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def encode_record(record: dict) -> str:
    """One record as the export writes it: compact JSON, UTF-8 text, no newline."""
    return _encode(record)


def write_records(stream, *, stdout=None) -> int:
    """Write every record to a binary stream, one compact JSON object per line; returns the count."""
    meter = Progress(stdout, "exported")
    count = 0
    buffer = []
    try:
        with _snapshot():
            for record in _export_records():
                buffer.append(_encode(record))
                count += 1
                if not count & 1023:
                    stream.write(("\n".join(buffer) + "\n").encode("utf-8"))
                    buffer.clear()
                    meter.tick(count)
            if buffer:
                stream.write(("\n".join(buffer) + "\n").encode("utf-8"))
            meter.tick(count)
    finally:
        meter.close()
    return count


class _snapshot:
    """On PostgreSQL, read the whole export from one snapshot (REPEATABLE READ, read only), so that
    writes committed meanwhile cannot make it inconsistent. Inside an existing transaction, or on
    SQLite (where a transaction would block writers), it reads as it is."""

    def __enter__(self):
        self.atomic = None
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return self

    def __exit__(self, *exc):
        if self.atomic is not None:
            return self.atomic.__exit__(*exc)
        return False


def export_file(path: str, *, stdout=None) -> int:
    """Export every record to `path` ("-" = stdout, ".gz" = gzip); returns the number of records."""
    if path == "-":
        sys.stdout.flush()
        target = getattr(sys.stdout, "buffer", None)
        if target is None:  # a text-only stdout (captured output): write text through it
            target = _TextSink(sys.stdout)
        count = write_records(target, stdout=stdout)
        target.flush()
        return count
    try:
        # compresslevel 6: nearly the size of 9 at a fraction of the time.
        stream = (
            gzip.open(path, "wb", compresslevel=6)  # noqa: SIM115 (closed by the with below)
            if path.endswith(".gz")
            else open(path, "wb", buffering=1 << 20)  # noqa: SIM115
        )
    except OSError as exc:
        raise ExchangeError(None, f"cannot write {path}: {exc.strerror or exc}") from None
    with stream:
        return write_records(stream, stdout=stdout)


class _TextSink:
    def __init__(self, text_stream):
        self.text_stream = text_stream

    def write(self, data: bytes) -> None:
        self.text_stream.write(data.decode("utf-8"))

    def flush(self) -> None:
        self.text_stream.flush()
