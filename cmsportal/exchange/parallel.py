"""Reading an exchange file on every core (PostgreSQL): worker processes parse, validate and format.

The importer's own process reads the (decompressed) file in blocks of whole lines and hands them,
numbered, to a pool of worker processes. A worker parses each line (orjson, `reread`), validates it
(`decoders.decode`) and returns the block's staging rows already written as COPY text, one piece
per staging table; the importer passes those pieces to PostgreSQL with COPY. Validating and
formatting are most of an import's Python time; spread over the workers, they run beside each other
and beside the database, which ingests one block while the workers prepare the next ones.

Results are taken in block order, so the first bad line of the file is the one reported, worded
exactly as a single process words it. At most a few blocks are in flight: memory stays bounded.
Workers are forked (they share the parent's loaded code and never touch its database connection);
where fork is unavailable, or there is a single CPU, `available()` says no and the importer reads in
its own process. A worker that dies (killed, out of memory) fails the import at once with a clear error,
nothing staged is committed, instead of leaving the importer waiting for a block that never comes.
"""

import json
import multiprocessing
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import orjson

from .checks import Invalid
from .decoders import decode
from .errors import ExchangeError
from .staging import STAGING

__all__ = [
    "BLOCK",
    "MAX_WORKERS",
    "workers",
    "available",
    "reread",
    "invalid_reason",
    "FORMATTERS",
    "decode_block",
    "blocks",
    "read_parallel",
]

BLOCK = 1 << 20  # bytes of lines per block handed to a worker
MAX_WORKERS = 4


def workers() -> int:
    """Worker processes to use: one per CPU this process may run on, within MAX_WORKERS."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return min(cpus, MAX_WORKERS)


def available() -> bool:
    """Whether files can be read by worker processes here."""
    return workers() > 1 and "fork" in multiprocessing.get_all_start_methods()


# -- parsing ----------------------------------------------------------------------------------------


def reread(line: bytes):
    """A line orjson rejected (its bytes, newline included), as the `json` module reads it; None when blank.

    orjson parses the lines; `json` has the last word where they differ, so that errors read as they
    always did: it accepts NaN, lone surrogates and a byte order mark, and words the errors
    (ValueError or RecursionError).
    """
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        if not line.strip():
            return None
        raise


def invalid_reason(raw: bytes, line: int, exc: Invalid) -> str:
    """Why a record is invalid, worded from the record as the `json` module reads it (orjson reads
    integers beyond 64 bits as floats, which would be reported as a wrong type)."""
    try:
        decode(line, json.loads(raw), {name: [] for name in STAGING})
    except Invalid as reread:
        return str(reread)
    return str(exc)


# -- COPY text --------------------------------------------------------------------------------------

_ESCAPE = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _escape(value: str) -> str:
    return value.translate(_ESCAPE)


def _formatter(columns):
    """rows -> COPY text (PostgreSQL's text format) for a staging table's `columns`."""
    fields = []
    for i, (_, kind) in enumerate(columns):
        v = f"r[{i}]"
        if kind == "text":
            # Printable text without a backslash needs no escaping (tab, newline and CR are not printable).
            fields.append(f"{{N if {v} is None else {v} if {v}.isprintable() and BS not in {v} else E({v})}}")
        elif kind == "bigint":
            fields.append(f"{{N if {v} is None else {v}}}")
        elif kind == "bool":
            fields.append(f"{{N if {v} is None else T if {v} else F}}")
        elif kind == "date":
            # Canonical dates arrive as their text (checks.date); the others as aware datetimes.
            fields.append(f"{{N if {v} is None else {v} if {v}.__class__ is str else {v}.isoformat()}}")
        else:
            raise ValueError(f"no COPY format for {kind!r}")
    source = 'def format(rows):\n    return "".join([f"' + "\\t".join(fields) + '\\n" for r in rows])\n'
    namespace = {"N": "\\N", "BS": "\\", "E": _escape, "T": "t", "F": "f"}
    exec(compile(source, "<copy text>", "exec"), namespace)  # noqa: S102 (our own source)
    return namespace["format"]


FORMATTERS = {name: _formatter(columns) for name, columns in STAGING.items()}


# -- a worker's task ----------------------------------------------------------------------------------


def decode_block(first: int, data: bytes):
    """Parse and validate the lines of `data`, numbered from `first`; -> ("ok", counts by kind,
    {table: (COPY bytes, rows)}) or ("error", line, reason) for the first bad line.

    Every line of `data` ends with a newline, except perhaps the last (the file's last line). JSON
    errors are worded for the line as it was, newline included.
    """
    lines = data.split(b"\n")
    ends_in_newline = not lines[-1]
    if ends_in_newline:
        lines.pop()
    buffers = {name: [] for name in STAGING}
    counts = {}
    last = first + len(lines) - 1
    for line, raw in enumerate(lines, first):
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            try:
                record = reread(raw + b"\n" if ends_in_newline or line != last else raw)
            except (ValueError, RecursionError) as exc:
                return ("error", line, f"not valid JSON: {exc}")
            if record is None:
                continue
        try:
            kind = decode(line, record, buffers)
        except Invalid as exc:
            return ("error", line, invalid_reason(raw, line, exc))
        counts[kind] = counts.get(kind, 0) + 1
    copy = {name: (FORMATTERS[name](rows).encode("utf-8"), len(rows)) for name, rows in buffers.items() if rows}
    return ("ok", counts, copy)


# -- the importer's side ----------------------------------------------------------------------------


def blocks(stream):
    """(first line number, whole lines) for blocks of about BLOCK bytes: every line of a block ends
    with its newline, except the file's last line when it has none.

    A read error is raised, after the lines read whole before it, as ExchangeError naming the first
    line not read whole.
    """
    read = getattr(stream, "read1", stream.read)
    number = 1
    parts: list[bytes] = []  # read, not yet handed out: whole lines and a partial one
    size = 0
    while True:
        try:
            data = read(BLOCK)
        except (OSError, EOFError) as exc:
            pending = b"".join(parts)
            whole = pending[: pending.rfind(b"\n") + 1]
            if whole:
                yield number, whole
            raise ExchangeError(number + whole.count(b"\n"), f"cannot read the file: {exc}") from None
        if not data:
            break
        parts.append(data)
        size += len(data)
        if size >= BLOCK:
            pending = b"".join(parts)
            end = pending.rfind(b"\n") + 1
            parts, size = [pending], len(pending)
            if end:
                yield number, pending[:end]
                number += pending.count(b"\n", 0, end)
                parts, size = [pending[end:]], len(pending) - end
    pending = b"".join(parts)
    if pending:
        yield number, pending


def read_parallel(stream, stage, meter, counts: dict) -> int:
    """Read, validate and stage every line of `stream`; returns the number of records. Raises ExchangeError."""
    count = workers()
    total = 0
    pending: deque = deque()
    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork"))
    try:

        def take() -> None:
            nonlocal total
            first = pending[0][0]
            try:
                result = pending.popleft()[1].result()
            except BrokenProcessPool:
                raise ExchangeError(
                    None,
                    f"a worker process reading the lines from {first} on stopped unexpectedly (killed, or out of "
                    "memory); nothing was imported",
                ) from None
            if result[0] == "error":
                _, line, reason = result
                raise ExchangeError(line, reason)
            _, block_counts, copy = result
            for kind, n in block_counts.items():
                counts[kind] += n
                total += n
            for name, (data, rows) in copy.items():
                stage.add_text(name, data, rows)
            meter.tick(total)
            stage.flush(full_only=True)

        reading = blocks(stream)
        while True:
            try:
                block = next(reading, None)
            except ExchangeError:
                # A read error: the lines read before it may hold an earlier error, the one to report.
                while pending:
                    take()
                raise
            if block is None:
                break
            try:
                pending.append((block[0], pool.submit(decode_block, *block)))
            except BrokenProcessPool:
                pending.clear()
                raise ExchangeError(
                    None, "a worker process stopped unexpectedly (killed, or out of memory); nothing was imported"
                ) from None
            if len(pending) > 2 * count:
                take()
        while pending:
            take()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return total
