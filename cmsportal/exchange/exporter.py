"""Export: every record, in canonical order, streaming in constant memory.

Order: customers (by RCN; implicit customers are not written), namespaces (by name), accounts (by
type and id), contacts (by RPN), metadata (by account, key), then the three history trails by
account, each by date, ties in the order written (id), undated entries last (the API's order, oldest
first; `accounts.models.chronological`). The import writes a file's rows in file order, so an export
imported again gets its ids in this order and exports byte-identically.
Lists inside a record (addresses, a contact's accounts and roles, a namespace's groups) keep the
order they were written in, which is the order the import writes them.

Python holds a batch at a time (a few thousand records and their rows), whatever the size of the
database:

- customers, namespaces and accounts: keyset batches, `key > last ORDER BY key LIMIT n` on their
  natural key (accounts one account type at a time, over the (type, account_id) index);
- metadata and the history trails: batches of RANGE accounts (a keyset over (type, account_id)),
  then one query for the rows of those accounts by their ids (`account_id = ANY(...)`: an index
  range each), put in account order in Python;
- contacts: contacts, addresses, email addresses, phone numbers and account links with their roles,
  each in one pass sorted by RPN, through a server-side cursor read BATCH rows at a time.
  Contacts are stored in no particular RPN order, so the rows of any batch of contacts lie on
  nearly every page of each table: reading them batch by batch read every table again for each
  batch (through shared buffers too small to keep them), twice the database time of one hash join
  and sort per table.

Rows are read with plain SQL as tuples and written by the `*_line` encoders of encoders.py (orjson),
without model instances or the JSON module: building objects for the representation functions and encoding
their dicts cost several times everything else. On PostgreSQL the database writes the dates as text
(`to_char`: UTC, milliseconds truncated, the form `format_date` gives for years 1000-9999);
elsewhere they are read as datetimes and formatted by `format_date`.

The queries run in a thread of their own, up to AHEAD batches ahead of the encoding: the database
works on one core while Python encodes on the other. Both use the one connection (one at a time),
in one snapshot (`_snapshot`).
"""

# The SQL below is assembled from constants of this module only; values are always parameters.
# ruff: noqa: S608

import contextlib
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from django.db import connections, transaction

from accounts.representations import ACCOUNT, ACCOUNT_HISTORY, CUSTOMER, RCN_CHANGE, STATUS_CHANGE
from cmsportal import replicas
from cmsportal import resources as r
from cmsportal.dates import format_date
from contacts.representations import ADDRESS, CONTACT, EMAIL_ADDRESS, PHONE_NUMBER
from metadata.representations import METADATA_DETAIL, NAMESPACE

from . import encoders

__all__ = ["BATCH", "RANGE", "AHEAD", "Batch", "export_chunks"]

BATCH = 5_000  # customers, namespaces, accounts or contacts per batch
RANGE = 2_000  # accounts per range, for their metadata and history
AHEAD = 1  # batches queued ahead of the encoding (one more is read meanwhile)

# The account types in the order the export walks them (the (type, account_id) index's order).
_ACCOUNT_TYPES = sorted(ACCOUNT.field("type").choices)

_PG_DATE = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""

# One unit of work: encode(*rows) -> (number of records, their lines). The reading thread runs the
# queries that give `rows`; the caller runs `encode`.
Batch = tuple[Callable[..., tuple[int, bytearray]], tuple]


def _dates_as_text(row: tuple) -> tuple:
    """A row with its datetimes (aware, or naive in UTC as SQLite returns them) formatted as the API writes them."""
    return tuple(
        format_date(value if value.tzinfo else value.replace(tzinfo=UTC)) if isinstance(value, datetime) else value
        for value in row
    )


class _Reader:
    """Runs the export's queries on one connection; rows come back with their dates as text."""

    def __init__(self, connection):
        self.connection = connection
        self.cursor = connection.cursor()
        self.postgres = connection.vendor == "postgresql"

    def date(self, column: str) -> str:
        """The SQL selecting datetime `column`: as text where the database can write it."""
        return _PG_DATE.format(column) if self.postgres else column

    def columns(self, resource: r.Resource, alias: str, joins: dict | None = None) -> str:
        """The SQL selecting a row of `resource` for its line encoder (encoders.row_leaves, in order):
        each declared field's column of `alias`, or, for a path through a relation (`customer.rcn`),
        the column of the alias `joins` names for the relation; dates as `date` gives them."""
        q = self.connection.ops.quote_name
        out = []
        for field, path in encoders.row_leaves(resource):
            relation = path.split(".")[:-1]
            table = joins[relation[0]] if relation else alias
            sql = f"{table}.{q(resource.column(path))}"
            out.append(self.date(sql) if field.type == r.DATE else sql)
        return ", ".join(out)

    def rows(self, sql: str, params) -> list[tuple]:
        self.cursor.execute(sql, params)
        return self._texts(self.cursor.fetchall())

    def _texts(self, rows: list[tuple]) -> list[tuple]:
        return rows if self.postgres else [_dates_as_text(row) for row in rows]

    def stream(self, sql: str) -> "_Stream":
        """The rows of `sql` through a cursor of their own (server-side on PostgreSQL), read as needed."""
        cursor = self.connection.chunked_cursor()
        cursor.execute(sql)
        return _Stream(self, cursor)

    def keyset(
        self, sql: str, where: list[str], params: list, key: str, key_index: int, batch: int | None = None
    ) -> Iterator[list[tuple]]:
        """Batches of `sql WHERE where...` in order of the unique column `key` (the row's column
        `key_index`): `key > last ORDER BY key LIMIT batch` (default BATCH), until one comes back short."""
        batch = batch or BATCH
        last = None
        while True:
            if last is None:
                conditions, values = where, params
            else:
                conditions, values = [*where, f"{key} > %s"], [*params, last]
            if conditions:
                query = f"{sql} WHERE {' AND '.join(conditions)} ORDER BY {key} LIMIT %s"
            else:
                query = f"{sql} ORDER BY {key} LIMIT %s"
            rows = self.rows(query, [*values, batch])
            if rows:
                yield rows
            if len(rows) < batch:
                return
            last = rows[-1][key_index]

    def among(self, column: str, ids: list, subquery: str, params: list) -> tuple[str, list]:
        """(condition, params): `column` is one of `ids`, which `subquery` (with `params`) also selects.

        PostgreSQL takes the ids as one array parameter (an index probe each); elsewhere the subquery
        stands in for the list, which could pass the database's limit on parameters.
        """
        if self.postgres:
            return f"{column} = ANY(%s::bigint[])", ["{" + ",".join(map(str, ids)) + "}"]
        return f"{column} IN ({subquery})", params


def _chunk(rows: list[tuple], line) -> tuple[int, bytearray]:
    chunk = bytearray()
    for row in rows:
        chunk += line(row)
    return len(rows), chunk


def _customers(db: _Reader) -> Iterator[Batch]:
    sql = f"SELECT {db.columns(CUSTOMER, 'c')} FROM {CUSTOMER.table} c"
    for rows in db.keyset(sql, ["c.implicit = %s"], [False], "c.rcn", 0):
        yield _chunk, (rows, encoders.customer_line)


def _namespace_chunk(rows, groups) -> tuple[int, bytearray]:
    by_namespace = {"r": defaultdict(list), "w": defaultdict(list)}
    for kind, namespace_id, name in groups:
        by_namespace[kind][namespace_id].append(name)
    chunk = bytearray()
    for row in rows:
        chunk += encoders.namespace_line(row[1:], by_namespace["r"][row[0]], by_namespace["w"][row[0]])
    return len(rows), chunk


def _namespaces(db: _Reader) -> Iterator[Batch]:
    # Groups in the order they were added, readers then writers.
    namespace = NAMESPACE
    sql = f"SELECT n.id, {db.columns(namespace, 'n')} FROM {namespace.table} n"
    for rows in db.keyset(sql, [], [], "n.name", 1):
        span = "n.name >= %s AND n.name <= %s"
        params = [rows[0][1], rows[-1][1]]
        groups = []
        for kind, relation in (("r", "readers"), ("w", "writers")):
            table, group = namespace.related_table(relation, through=True), namespace.related_table(relation)
            groups += db.rows(
                f"SELECT '{kind}', t.namespace_id, g.name FROM {table} t JOIN {group} g ON g.id = t.group_id"
                f" JOIN {namespace.table} n ON n.id = t.namespace_id WHERE {span} ORDER BY t.id",
                params,
            )
        yield _namespace_chunk, (rows, groups)


def _accounts(db: _Reader) -> Iterator[Batch]:
    sql = (
        f"SELECT {db.columns(ACCOUNT, 'a', {'customer': 'c'})}"
        f" FROM {ACCOUNT.table} a JOIN {CUSTOMER.table} c ON c.id = a.customer_id"
    )
    for account_type in _ACCOUNT_TYPES:
        for rows in db.keyset(sql, ["a.type = %s"], [account_type], "a.account_id", 0):
            yield _chunk, (rows, encoders.account_line)


def _account_batches(db: _Reader) -> Iterator[tuple[str, list[tuple], str, list]]:
    """(type, [(row id, account id)], subquery, params): consecutive batches of RANGE accounts in
    account order; the subquery selects the batch's row ids."""
    sql = f"SELECT a.id, a.account_id FROM {ACCOUNT.table} a"
    subquery = f"SELECT a.id FROM {ACCOUNT.table} a WHERE a.type = %s AND a.account_id >= %s AND a.account_id <= %s"
    for account_type in _ACCOUNT_TYPES:
        for accounts in db.keyset(sql, ["a.type = %s"], [account_type], "a.account_id", 1, RANGE):
            yield account_type, accounts, subquery, [account_type, accounts[0][1], accounts[-1][1]]


def _account_chunk(account_type: str, accounts: list[tuple], rows: list[tuple], line) -> tuple[int, bytearray]:
    by_account = defaultdict(list)
    for row in rows:
        by_account[row[0]].append(row[1:])
    chunk = bytearray()
    for pk, account_id in accounts:
        for row in by_account.get(pk, ()):
            chunk += line(account_type, account_id, row)
    return len(rows), chunk


def _per_account(db: _Reader, table: str, select: str, order: str, line) -> Iterator[Batch]:
    """The rows of `table` (as `t`, with `account_id` the account's row id), a batch of accounts at a
    time, in account order, then `order`."""
    for account_type, accounts, subquery, params in _account_batches(db):
        condition, params = db.among("t.account_id", [pk for pk, _ in accounts], subquery, params)
        rows = db.rows(
            f"SELECT t.account_id, {select} FROM {table} t WHERE {condition} ORDER BY t.account_id, {order}", params
        )
        if rows:
            yield _account_chunk, (account_type, accounts, rows, line)


def _metadata(db: _Reader) -> Iterator[Batch]:
    resource = METADATA_DETAIL
    return _per_account(db, resource.table, db.columns(resource, "t"), "t.key", encoders.metadata_line)


def _status_changes(db: _Reader) -> Iterator[Batch]:
    resource = STATUS_CHANGE
    return _per_account(db, resource.table, db.columns(resource, "t"), "t.date, t.id", encoders.status_change_line)


def _account_history(db: _Reader) -> Iterator[Batch]:
    resource = ACCOUNT_HISTORY
    order = "t.updated_date ASC NULLS LAST, t.id"
    return _per_account(db, resource.table, db.columns(resource, "t"), order, encoders.account_history_line)


def _rcn_changes(db: _Reader) -> Iterator[Batch]:
    resource = RCN_CHANGE
    order = "t.date ASC NULLS LAST, t.id"
    return _per_account(db, resource.table, db.columns(resource, "t"), order, encoders.rcn_change_line)


class _Stream:
    """An ordered query's rows, fetched BATCH at a time: `take(ids)` returns the next rows whose first
    column is in `ids` (the contacts of a batch, whose rows come next in the stream)."""

    def __init__(self, reader: _Reader, cursor):
        self.reader = reader
        self.cursor = cursor
        self.rows = []
        self.at = 0

    def fetch(self) -> list[tuple]:
        """The next BATCH rows (for a stream read only this way)."""
        return self.reader._texts(self.cursor.fetchmany(BATCH))

    def take(self, ids) -> list[tuple]:
        taken = []
        while True:
            rows, at = self.rows, self.at
            if at == len(rows):
                rows = self.reader._texts(self.cursor.fetchmany(BATCH))
                if not rows:
                    return taken
                self.rows, at = rows, 0
            end, size = at, len(rows)
            while end < size and rows[end][0] in ids:
                end += 1
            taken += rows[at:end]
            self.at = end
            if end < size:
                return taken

    def close(self):
        self.cursor.close()


def _grouped(rows: list[tuple], build) -> dict:
    """Contact id (each row's first column) -> `build` of the rest of each of its rows, in order."""
    by_contact = defaultdict(list)
    for row in rows:
        by_contact[row[0]].append(build(row[1:]))
    return by_contact


def _contact_chunk(contacts, addresses, emails, phones, links) -> tuple[int, bytearray]:
    addresses = _grouped(addresses, encoders.address_object)
    emails = _grouped(emails, encoders.email_address_object)
    phones = _grouped(phones, encoders.phone_number_object)
    # One row per role of each link (one with a NULL role for a link without roles), link by link.
    accounts = defaultdict(list)
    link = None
    for contact_id, link_id, account_type, account_id, role in links:
        if link_id != link:
            link, roles = link_id, []
            accounts[contact_id].append(encoders.contact_account_object(account_type, account_id, roles))
        if role is not None:
            roles.append(role)
    empty = []
    chunk = bytearray()
    for row in contacts:
        contact_id = row[0]
        chunk += encoders.contact_line(
            row[1:],
            addresses.get(contact_id, empty),
            emails.get(contact_id, empty),
            phones.get(contact_id, empty),
            accounts.get(contact_id, empty),
        )
    return len(contacts), chunk


# Contacts and their rows, each in one pass in RPN order (the rows of one contact in the order
# written), the contact's id first.
def _contact_passes(db: _Reader) -> list[str]:
    contact = CONTACT
    passes = [
        f"SELECT c.id, {db.columns(contact, 'c', {'customer': 'cu'})} FROM {contact.table} c"
        f" LEFT JOIN {CUSTOMER.table} cu ON cu.id = c.customer_id ORDER BY c.contact_number"
    ]
    for item in (ADDRESS, EMAIL_ADDRESS, PHONE_NUMBER):
        passes.append(
            f"SELECT c.id, {db.columns(item, 't')} FROM {contact.table} c"
            f" JOIN {item.table} t ON t.contact_id = c.id ORDER BY c.contact_number, t.id"
        )
    link, role = contact.related_table("account_links"), contact.related_table("account_links.roles")
    passes.append(
        f"SELECT c.id, l.id, a.type, a.account_id, r.role FROM {contact.table} c"
        f" JOIN {link} l ON l.contact_id = c.id JOIN {ACCOUNT.table} a ON a.id = l.account_id"
        f" LEFT JOIN {role} r ON r.link_id = l.id ORDER BY c.contact_number, l.id, r.id"
    )
    return passes


def _contacts(db: _Reader) -> Iterator[Batch]:
    """Each pass read in step, BATCH contacts at a time (with all their rows).

    Contacts are stored in no particular RPN order, so a batch of contacts has rows on nearly every
    page of each table: reading a batch's rows by id (an index probe each) read every table again for
    each batch and took twice the database time of one hash join and sort per table.
    """
    streams = []
    try:
        for sql in _contact_passes(db):
            streams.append(db.stream(sql))
        contacts, *children = streams
        while batch := contacts.fetch():
            ids = {row[0] for row in batch}
            yield _contact_chunk, (batch, *[child.take(ids) for child in children])
    finally:
        for stream in streams:
            stream.close()


def _batches(db: _Reader) -> Iterator[Batch]:
    yield from _customers(db)
    yield from _namespaces(db)
    yield from _accounts(db)
    yield from _contacts(db)
    yield from _metadata(db)
    yield from _status_changes(db)
    yield from _account_history(db)
    yield from _rcn_changes(db)


class _ReadAhead:
    """Runs an iterator in a thread, at most AHEAD items ahead of the consumer. Exceptions raised by
    the iterator are raised to the consumer; closing stops the thread (after the item it is on)."""

    _DONE = object()

    def __init__(self, items: Iterator):
        self.items = items
        self.queue = queue.Queue(maxsize=AHEAD)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="export-reader", daemon=True)

    def _run(self):
        try:
            for item in self.items:
                if self.stop.is_set():
                    return
                self.queue.put((item, None))
            self.queue.put((self._DONE, None))
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer, which raises it)
            self.queue.put((self._DONE, exc))
        finally:
            # A generator stopped early closes here, in the thread that ran it (its cursors too).
            close = getattr(self.items, "close", None)
            if close is not None:
                close()

    def __enter__(self):
        self.thread.start()
        return self

    def __iter__(self):
        while True:
            item, error = self.queue.get()
            if error is not None:
                raise error
            if item is self._DONE:
                return
            yield item

    def __exit__(self, *exc):
        self.stop.set()
        while self.thread.is_alive():  # unblock a thread waiting to put an item
            with contextlib.suppress(queue.Empty):
                self.queue.get(timeout=0.1)
        self.thread.join()
        return False


class _snapshot:
    """On PostgreSQL, read the whole export from one snapshot (REPEATABLE READ, read only), so that
    writes committed meanwhile cannot make it inconsistent. Inside an existing transaction, or on
    SQLite (where a transaction would block writers), it reads as it is.

    A transaction of its own also gets settings for the export's queries: no parallel workers (the
    batches read through an index, where starting workers costs more than it saves, and workers
    would take the cores the encoding runs on: a Gather over a sequential scan of a whole table was
    chosen for a batch's roles, instead of an index scan of a fourth of the time), and cursors
    planned for reading them whole (`cursor_tuple_fraction`: the contacts' passes hash and sort
    each table once, instead of probing an index for every row)."""

    def __init__(self, connection):
        self.connection = connection
        self.atomic = None

    def __enter__(self):
        if self.connection.vendor == "postgresql" and not self.connection.in_atomic_block:
            self.atomic = transaction.atomic(using=self.connection.alias)
            self.atomic.__enter__()
            with self.connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                cursor.execute("SET LOCAL cursor_tuple_fraction = 1")
        return self

    def __exit__(self, *exc):
        if self.atomic is not None:
            return self.atomic.__exit__(*exc)
        return False


def export_chunks(using: str | None = None) -> Iterator[tuple[int, bytearray]]:
    """Every record of the database as its line (compact JSON, UTF-8, ending in a newline), in
    canonical order (see the module docstring): (number of records, their lines) a batch at a time.
    Read from `using`, by default where reads go now (a replica under `replicas.reading_from_replicas()`)."""
    connection = connections[using or replicas.read_alias()]
    with _snapshot(connection):
        # The reading thread uses this thread's connection (never at the same time as this thread).
        connection.inc_thread_sharing()
        try:
            reader = _Reader(connection)
            try:
                with _ReadAhead(_batches(reader)) as batches:
                    for encode, rows in batches:
                        yield encode(*rows)
            finally:
                reader.cursor.close()
        finally:
            connection.dec_thread_sharing()
