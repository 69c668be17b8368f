"""The CMS exchange format (docs/EXCHANGE.md): JSON Lines of records, imported and exported whole.

Public functions (stable; the demo data generator and the management commands call them):

    import_records(records, *, stdout=None, progress=True) -> dict
        Import already-parsed records (dicts), numbered from 1 like lines. Returns the number of
        records read per kind: {"customer": n, "namespace": n, "customerAccount": n, ...}.
    import_file(path, *, stdout=None, timings=False) -> dict
        Import a file: "-" reads stdin, a ".gz" suffix means gzip. `timings` writes the seconds
        each phase took to `stdout`.
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
a terminal. The records are the API representations, declared in each app
(`<app>/representations.py`) and re-exported by `representations`.

Rules (docs/EXCHANGE.md): records in any order; upsert by natural key (customer by rcn, account by
type+id, contact by contactNumber, metadata by account+key, namespace by name); a contact's account
links, roles, addresses, emails and phones, and a namespace's readers and writers, are replaced by
the file's; customers created only because an account or contact names their RCN are `implicit`
and not exported; history is appended, skipping exact duplicates of stored rows; the import writes
what the file says and adds no history; one bad line fails the whole import with its line number.
"""

import gzip
import json
import os
import sys
from collections.abc import Iterable, Iterator

from .errors import ExchangeError
from .exporter import export_chunks
from .importer import import_numbered, import_stream
from .progress import Progress
from .records import record_text

__all__ = [
    "ExchangeError",
    "encode_record",
    "export_file",
    "export_records",
    "import_file",
    "import_records",
    "write_records",
]


def import_records(records: Iterable[dict], *, stdout=None, progress: bool = True, source: str = "records") -> dict:
    """Import parsed records (numbered from 1 like lines) in one transaction; returns counts per kind.
    `source` names them in the change log's summary of the import."""
    return import_numbered(enumerate(records, 1), stdout=stdout, progress=progress, source=source)


def _open_input(path: str):
    if path == "-":
        return sys.stdin.buffer
    try:
        return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise ExchangeError(None, f"cannot open {path}: {exc.strerror or exc}") from None


def import_file(path: str, *, stdout=None, timings: bool = False) -> dict:
    """Import a JSON Lines file ("-" = stdin, ".gz" = gzip); returns counts per kind.

    `timings`: also write the seconds each phase took (reading, writing accounts...) to `stdout`.
    """
    stream = _open_input(path)
    try:
        source = "stdin" if path == "-" else os.path.basename(path)
        return import_stream(stream, stdout=stdout, timings=timings, source=source)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def export_records() -> Iterator[dict]:
    """Every record of the database in canonical order, streaming in constant memory."""
    for _, chunk in export_chunks():
        for line in chunk.split(b"\n")[:-1]:
            yield json.loads(line)


def encode_record(record: dict) -> str:
    """One record as the export writes it: compact JSON, UTF-8 text, no newline."""
    return record_text(record)


def write_records(stream, *, stdout=None) -> int:
    """Write every record to a binary stream, one compact JSON object per line; returns the count."""
    meter = Progress(stdout, "exported")
    count = 0
    try:
        for records, chunk in export_chunks():
            stream.write(chunk)
            count += records
            meter.tick(count)
    finally:
        meter.close()
    return count


# zlib level for ".gz" exports. Measured on a 650 MB export (1.8M records): level 6 compresses at
# about 90 MB/s of CPU to 12 % of the size, level 3 at 190 MB/s to 14.6 %, level 1 at 210 MB/s to
# 16.3 %. Compression runs in the thread that encodes the records, so it adds to the export's time:
# the whole export took 26 s at level 6 (66 MB), 17 s at level 3 (79 MB) and 17 s at level 1 (87 MB).
GZIP_LEVEL = 3


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
        stream = (
            gzip.open(path, "wb", compresslevel=GZIP_LEVEL)  # noqa: SIM115 (closed by the with below)
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
