# SQL here is assembled from the declared tables and staging.STAGING column names only; every value
# read from a file travels as a COPY row or a query parameter.
# ruff: noqa: S608
"""Import: records -> staging tables -> set-based upserts, in one transaction.

Every record is validated as it is read (decoders.decode, the compiled form of records.decode) and
its rows go into temporary staging tables: on PostgreSQL with COPY, on SQLite with executemany. On
PostgreSQL a file is read by worker processes (parallel.py), which parse, validate and write the COPY
text on every core. Nothing touches the real tables until the whole file is read, so references may
point forwards. Then SQL statements shared by both
databases check what needs the whole file (duplicate keys, references to accounts), and upsert
customers, namespaces, accounts, contacts, metadata and history from staging. Memory stays bounded:
Python holds at most one chunk of rows per staging table; the database does the joins.

The import writes rows directly and never calls the services: it writes what the file says,
timestamps and `...By` fields included, and adds no history of its own.

Big loads into empty PostgreSQL tables (REBUILD_THRESHOLD rows or more) set aside the tables'
secondary indexes, unique constraints and foreign keys before writing and restore them at the end,
inside the same transaction (_set_aside, _restore): one sorted index build is several times cheaper
than a million index insertions (measured: the account upsert of a 100,000-account file went from
7.9 s to 1.3 s), one validating join per foreign key cheaper than a trigger per row, and with
nothing stored to conflict with, the upserts are plain INSERTs. Primary keys stay. The tables are
locked for the duration of the import either way. `manage.py cms_import -v 2` prints the time of
each phase.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial

import orjson
from django.db import connection, transaction

from accounts import representations as accounts
from cmsportal.changes.choices import Action, ObjectType
from cmsportal.changes.services import change_record
from contacts import representations as contacts
from metadata import representations as metadata

from . import parallel
from .checks import Invalid
from .decoders import decode
from .errors import ExchangeError
from .progress import Progress
from .staging import KINDS, STAGED_AS, STAGING

__all__ = [
    "CHUNK",
    "CHUNK_BYTES",
    "PREFIX",
    "import_numbered",
    "import_stream",
    "PARALLEL",
    "ANALYZE_THRESHOLD",
    "USE_COPY",
    "TYPES",
    "Staging",
    "CopyStaging",
    "InsertStaging",
    "REBUILD_INDEXES",
    "REBUILD_THRESHOLD",
    "RULE",
    "numbered_lines",
]

# Rows per staging table held in Python before they are written (one COPY / executemany each), or
# bytes of COPY text (parallel reading).
CHUNK = 20_000
CHUNK_BYTES = 4 << 20
PREFIX = "cms_x_"


def import_numbered(
    numbered: Iterable[tuple[int, object]],
    *,
    stdout=None,
    progress: bool = True,
    timings: bool = False,
    source: str = "records",
) -> dict:
    """Import (line number, record) pairs; see `import_records`. Raises ExchangeError; writes nothing then.

    `timings`: write the seconds each phase took to `stdout` when the import succeeds.
    """

    def read(stage, meter, counts) -> int:
        buffers = stage.buffers
        total = 0
        for line, record in numbered:
            try:
                kind = decode(line, record, buffers)
            except Invalid as exc:
                raise _invalid(numbered, line, exc) from None
            counts[kind] += 1
            total += 1
            if not total & 1023:
                meter.tick(total)
                stage.flush(full_only=True)
        return total

    return _import(read, stdout=stdout, progress=progress, timings=timings, source=source)


def import_stream(stream, *, stdout=None, timings: bool = False, source: str = "records") -> dict:
    """Import the JSON lines of a binary stream; see `import_numbered`.

    On PostgreSQL, with more than one CPU, worker processes parse and validate the lines (parallel.py).
    """
    if connection.vendor == "postgresql" and USE_COPY and PARALLEL and parallel.available():
        return _import(partial(parallel.read_parallel, stream), stdout=stdout, timings=timings, source=source)
    return import_numbered(numbered_lines(stream), stdout=stdout, timings=timings, source=source)


# Files are read by worker processes where parallel.available(); False reads them in this process.
PARALLEL = True


def _import(read, *, stdout, progress: bool = True, timings: bool = False, source: str = "records") -> dict:
    """The import around `read(stage, meter, counts) -> records`, which validates and stages every record.

    The change log gets one summary of it (not a row per record): `source` (the file name), and the counts."""
    meter = Progress(stdout if progress else None, "imported")
    counts = dict.fromkeys(KINDS, 0)
    try:
        with transaction.atomic():
            stage = _staging_for(connection)
            stage.create()
            total = read(stage, meter, counts)
            meter.tick(total)
            stage.flush()
            _merge(stage, meter)
            stage.drop()
            change_record(object_type=ObjectType.IMPORT, object_key=source, action=Action.IMPORT, after=counts)
            meter.phase("committing")
        if total >= ANALYZE_THRESHOLD:
            meter.phase("analyzing")
            _analyze_targets()
    finally:
        meter.close()
    if timings and stdout is not None:
        for label, seconds in meter.timings():
            stdout.write(f"  {label}: {seconds:.2f} s\n")
    return counts


# After a load this large, fresh planner statistics matter more than the seconds ANALYZE takes: without
# them PostgreSQL plans searches and joins as if the tables were still empty.
ANALYZE_THRESHOLD = 10_000


def _analyze_targets() -> None:
    if connection.vendor != "postgresql":
        return
    from django.apps import apps

    tables = [
        model._meta.db_table
        for label in ("accounts", "contacts", "metadata")
        for model in apps.get_app_config(label).get_models()
    ]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


# PostgreSQL loads staging tables with COPY; False makes it use executemany like SQLite (the tests
# compare both paths).
USE_COPY = True


def _staging_for(conn):
    if conn.vendor == "postgresql" and USE_COPY:
        return CopyStaging(conn)
    return InsertStaging(conn)


TYPES = {
    "postgresql": {"text": "text", "bigint": "bigint", "bool": "boolean", "date": "timestamptz"},
    "sqlite": {"text": "text", "bigint": "integer", "bool": "integer", "date": "text"},
}


class Staging:
    """Temporary tables named cms_x_<table> (staging.STAGING), filled in chunks."""

    def __init__(self, conn):
        self.conn = conn
        self.types = TYPES[conn.vendor]
        self.buffers = {name: [] for name in STAGING}
        self.loaded = dict.fromkeys(STAGING, 0)

    def table(self, name: str) -> str:
        return PREFIX + name

    def create(self) -> None:
        with self.conn.cursor() as cursor:
            if self.conn.vendor == "postgresql":
                # Joins and sorts of a big file fit in memory instead of spilling to disk.
                cursor.execute("SET LOCAL work_mem = '256MB'")
            for name, columns in STAGING.items():
                cursor.execute(f"DROP TABLE IF EXISTS {self.table(name)}")
                cols = ", ".join(f"{column} {self.types[kind]}" for column, kind in columns)
                cursor.execute(f"CREATE TEMPORARY TABLE {self.table(name)} ({cols})")

    def flush(self, full_only: bool = False) -> None:
        for name, rows in self.buffers.items():
            if rows and (not full_only or len(rows) >= CHUNK):
                self.write(name, rows)
                self.loaded[name] += len(rows)
                rows.clear()

    def write(self, name: str, rows: list) -> None:
        raise NotImplementedError

    def analyze(self) -> None:
        """Give PostgreSQL's planner row counts for the staging tables (autovacuum never sees temporary tables)."""
        if self.conn.vendor != "postgresql":
            return
        with self.conn.cursor() as cursor:
            # Row counts and rough distributions are all the joins need: a small sample is enough.
            cursor.execute("SET LOCAL default_statistics_target = 10")
            for name in STAGING:
                if self.loaded[name]:
                    cursor.execute(f"ANALYZE {self.table(name)}")
            cursor.execute("RESET default_statistics_target")

    def drop(self) -> None:
        with self.conn.cursor() as cursor:
            for name in STAGING:
                cursor.execute(f"DROP TABLE IF EXISTS {self.table(name)}")


class CopyStaging(Staging):
    """PostgreSQL: COPY FROM STDIN through the psycopg 3 connection, rows converted by psycopg's C dumpers,
    or COPY text already written (`add_text`, the parallel reading's)."""

    def __init__(self, conn):
        super().__init__(conn)
        self.texts = {name: [] for name in STAGING}
        self.text_rows = dict.fromkeys(STAGING, 0)
        self.text_bytes = dict.fromkeys(STAGING, 0)

    def add_text(self, name: str, data: bytes, rows: int) -> None:
        """Stage `rows` rows given as COPY text (PostgreSQL's text format, whole lines)."""
        self.texts[name].append(data)
        self.text_rows[name] += rows
        self.text_bytes[name] += len(data)

    def flush(self, full_only: bool = False) -> None:
        super().flush(full_only)
        for name, texts in self.texts.items():
            if texts and (not full_only or self.text_bytes[name] >= CHUNK_BYTES):
                with self._copy(name) as copy:
                    for data in texts:
                        copy.write(data)
                self.loaded[name] += self.text_rows[name]
                texts.clear()
                self.text_rows[name] = self.text_bytes[name] = 0

    @contextmanager
    def _copy(self, name: str):
        columns = ", ".join(column for column, _ in STAGING[name])
        with (
            self.conn.cursor() as cursor,
            cursor.cursor.copy(f"COPY {self.table(name)} ({columns}) FROM STDIN") as copy,
        ):
            yield copy

    def write(self, name: str, rows: list) -> None:
        with self._copy(name) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)


class InsertStaging(Staging):
    """Any database (SQLite's path): executemany of plain INSERTs."""

    def __init__(self, conn):
        super().__init__(conn)
        self.adapt = conn.ops.adapt_datetimefield_value
        self.dates = {
            name: [i for i, (_, kind) in enumerate(columns) if kind == "date"] for name, columns in STAGING.items()
        }

    def write(self, name: str, rows: list) -> None:
        placeholders = ", ".join("%s" for _ in STAGING[name])
        dates = self.dates[name]
        if dates:
            # Dates stored exactly as the ORM stores them, so that equality and ordering agree. A date
            # in the canonical form arrives as its text (checks.date).
            adapt = self.adapt
            parse = datetime.fromisoformat
            converted = []
            for row in rows:
                row = list(row)
                for i in dates:
                    value = row[i]
                    if value is not None:
                        row[i] = adapt(parse(value) if value.__class__ is str else value)
                converted.append(row)
            rows = converted
        with self.conn.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {self.table(name)} VALUES ({placeholders})", rows)


# -- the merge ---------------------------------------------------------------------------------------


class _SQL:
    """Table and column names, and the few spellings that differ between the databases."""

    def __init__(self, conn):
        q = conn.ops.quote_name
        self.q = q
        self.postgres = conn.vendor == "postgresql"
        # The tables named by the declarations (the declared models', and the relations between them).
        self.t = {
            "customer": q(accounts.CUSTOMER.table),
            "account": q(accounts.ACCOUNT.table),
            "status": q(accounts.STATUS_CHANGE.table),
            "history": q(accounts.ACCOUNT_HISTORY.table),
            "rcn": q(accounts.RCN_CHANGE.table),
            "contact": q(contacts.CONTACT.table),
            "link": q(contacts.CONTACT.related_table("account_links")),
            "role": q(contacts.CONTACT.related_table("account_links.roles")),
            "address": q(contacts.ADDRESS.table),
            "email": q(contacts.EMAIL_ADDRESS.table),
            "phone": q(contacts.PHONE_NUMBER.table),
            "namespace": q(metadata.NAMESPACE.table),
            "readers": q(metadata.NAMESPACE.related_table("readers", through=True)),
            "writers": q(metadata.NAMESPACE.related_table("writers", through=True)),
            "metadata": q(metadata.METADATA_DETAIL.table),
            "group": q(metadata.NAMESPACE.related_table("readers")),
        }

    def same(self, a: str, b: str) -> str:
        """NULL-safe equality."""
        return f"{a} IS NOT DISTINCT FROM {b}" if self.postgres else f"{a} IS {b}"

    def differs(self, a: str, b: str) -> str:
        return f"{a} IS DISTINCT FROM {b}" if self.postgres else f"{a} IS NOT {b}"


def _rows(cursor, sql: str, params=()) -> list:
    cursor.execute(sql, params)
    return cursor.fetchall()


def _merge(stage: Staging, meter: Progress) -> None:
    sql = _SQL(stage.conn)
    t = sql.t
    s = stage.table
    loaded = stage.loaded
    meter.phase("checking keys")
    stage.analyze()
    with stage.conn.cursor() as cursor:
        _check_duplicates(cursor, s, loaded)
        aside = _set_aside(cursor, sql, loaded) if sql.postgres and REBUILD_INDEXES else _SetAside()

        if loaded["customer"] or loaded["account"] or loaded["contact"]:
            meter.phase("writing customers")
            _upsert_customers(cursor, sql, s, fresh="customer" in aside.targets)
            aside.analyze(cursor, sql, "customer")
        if loaded["namespace"]:
            meter.phase("writing namespaces")
            _upsert_namespaces(cursor, sql, s)
        if loaded["account"]:
            meter.phase("writing accounts")
            columns = [c for c, _ in STAGING["account"] if c not in ("line", "type", "account_id", "rcn")]
            _upsert(
                cursor,
                sql,
                table=t["account"],
                conflict=("type", "account_id"),
                insert=["type", "account_id", "customer_id", *columns],
                select=["s.type", "s.account_id", "c.id", *(f"s.{c}" for c in columns)],
                source=f"{s('account')} s JOIN {t['customer']} c ON c.rcn = s.rcn",
                update=["customer_id", *columns],
                fresh="account" in aside.targets,
            )
            aside.analyze(cursor, sql, "account")

        meter.phase("checking references")
        _check_references(cursor, sql, s, loaded)
        _check_contact_customers(cursor, sql, s, loaded)

        if loaded["contact"]:
            meter.phase("writing contacts")
            _upsert_contacts(cursor, sql, s, loaded, aside)
        elif loaded["link"]:
            raise AssertionError("links without contacts")  # decode() writes both or neither

        if loaded["metadata"]:
            meter.phase("writing metadata")
            columns = [c for c, _ in STAGING["metadata"] if c not in ("line", "type", "account_id", "key")]
            _upsert(
                cursor,
                sql,
                table=t["metadata"],
                conflict=("account_id", "key"),
                # account_type, account_ident: the account's list key, copied (see metadata.models.Metadata).
                insert=["account_id", "account_type", "account_ident", "key", *columns],
                select=["a.id", "a.type", "a.account_id", "s.key", *(f"s.{c}" for c in columns)],
                source=f"{s('metadata')} s JOIN {t['account']} a ON a.type = s.type AND a.account_id = s.account_id",
                update=columns,
                fresh="metadata" in aside.targets,
            )

        for name, label in (("status", "status changes"), ("history", "account history"), ("rcn", "RCN changes")):
            if loaded[name]:
                meter.phase(f"writing {label}")
                _append_history(cursor, sql, s, name)

        if aside:
            _restore(cursor, aside, meter)


# Loading at least this many rows into an empty PostgreSQL table sets aside its secondary indexes,
# unique constraints and foreign keys: they are dropped before the load and restored after it, in the
# same transaction. One sorted index build is several times cheaper than a million index insertions;
# adding a foreign key checks every row in one join where a kept one checks each row on its own (a
# trigger per row). Primary keys stay.
REBUILD_INDEXES = True
REBUILD_THRESHOLD = 10_000
_LOADS = {
    # target table -> staging tables whose rows end up in it
    "customer": ("customer",),
    "account": ("account",),
    "contact": ("contact",),
    "address": ("address",),
    "email": ("email",),
    "phone": ("phone",),
    "link": ("link",),
    "role": ("role",),
    "metadata": ("metadata",),
    "status": ("status",),
    "history": ("history",),
    "rcn": ("rcn",),
}


class _SetAside:
    """What a big load into empty tables dropped, and the statements that restore it."""

    def __init__(self):
        self.targets: set[str] = set()  # keys of _SQL.t: empty tables receiving a big load
        self.indexes: list[str] = []  # CREATE INDEX and ALTER TABLE ... ADD CONSTRAINT ... UNIQUE statements
        self.foreign_keys: list[str] = []  # ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY statements

    def __bool__(self) -> bool:
        return bool(self.indexes or self.foreign_keys)

    def analyze(self, cursor, sql, target: str) -> None:
        """Statistics for a table just loaded from empty, which later statements join: without them
        the planner takes it for the empty table it was and looks rows up one at a time."""
        if target in self.targets:
            cursor.execute(f"ANALYZE {sql.t[target]}")


def _is_empty(cursor, table: str) -> bool:
    cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")
    return cursor.fetchone() is None


def _claim_empty(cursor, table: str) -> bool:
    """Whether `table` is empty; if so it is locked, so that it stays empty until this import writes it."""
    if not _is_empty(cursor, table):
        return False
    # Locked first, then looked at again: a row committed in between would otherwise be missed.
    cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    return _is_empty(cursor, table)


def _set_aside(cursor, sql, loaded) -> _SetAside:
    """Drop the secondary indexes, unique constraints and foreign keys of empty tables about to receive a big load.

    A foreign key is dropped only when the table it references is empty too: dropping it locks that
    table until the import commits, which then blocks no reader from rows it could have seen.
    """
    aside = _SetAside()
    for target, sources in _LOADS.items():
        if sum(loaded[name] for name in sources) >= REBUILD_THRESHOLD and _claim_empty(cursor, sql.t[target]):
            aside.targets.add(target)
    empty = {}  # table oid -> whether it is empty (and locked)
    for target in aside.targets:
        cursor.execute("SELECT %s::regclass::oid", [sql.t[target]])
        empty[cursor.fetchone()[0]] = True
    for target in sorted(aside.targets):
        table = sql.t[target]
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = %s::regclass AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [table],
        )
        for name, definition in cursor.fetchall():
            cursor.execute(f"DROP INDEX {name}")
            aside.indexes.append(definition)
        # Unique constraints no foreign key relies on: the writes into an empty table are plain
        # INSERTs (_upsert's `fresh`), and the staged keys were checked unique.
        cursor.execute(
            "SELECT quote_ident(c.conname), pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "WHERE c.conrelid = %s::regclass AND c.contype = 'u' AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid) ORDER BY c.conname",
            [table],
        )
        for name, definition in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            aside.indexes.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        cursor.execute(
            "SELECT quote_ident(conname), pg_get_constraintdef(oid), confrelid, confrelid::regclass::text "
            "FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [table],
        )
        for name, definition, referenced, referenced_name in cursor.fetchall():
            if referenced not in empty:
                empty[referenced] = _claim_empty(cursor, referenced_name)
            if not empty[referenced]:
                continue
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            aside.foreign_keys.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    if aside.indexes:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    return aside


def _restore(cursor, aside: _SetAside, meter: Progress) -> None:
    meter.phase("checking foreign keys")
    # ALTER TABLE and CREATE INDEX refuse to run while foreign key checks are pending: run them now
    # (they would run at commit anyway), then defer again as Django's constraints expect.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for statement in aside.foreign_keys:
        cursor.execute(statement)
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    meter.phase("rebuilding indexes")
    for statement in aside.indexes:
        cursor.execute(statement)


def _check_duplicates(cursor, s, loaded) -> None:
    """One record per natural key: a second record for the same thing cannot both be true."""
    checks = (
        ("customer", "rcn", "customer {}"),
        ("namespace", "name", "namespace {}"),
        ("account", "type, account_id", "account {}/{}"),
        ("contact", "contact_number", "contact {}"),
        ("metadata", "type, account_id, key", "metadata {2} on account {0}/{1}"),
    )
    found = []
    for name, key, label in checks:
        if not loaded[name]:
            continue
        rows = _rows(
            cursor,
            f"SELECT max(line), min(line), {key} FROM {s(name)} GROUP BY {key} HAVING count(*) > 1 ORDER BY 1 LIMIT 1",
        )
        if rows:
            last, first, *values = rows[0]
            found.append((last, f"{label.format(*values)} appears more than once (also on line {first})"))
    if found:
        raise ExchangeError(*min(found))


def _check_references(cursor, sql, s, loaded) -> None:
    """Every account a record names must now exist (it was in the file or already in the database)."""
    found = []
    for name, what in (
        ("link", "contact"),
        ("metadata", "metadata"),
        ("status", "statusChange"),
        ("history", "customerAccountHistory"),
        ("rcn", "accountRCNChange"),
    ):
        if not loaded[name]:
            continue
        rows = _rows(
            cursor,
            f"SELECT s.line, s.type, s.account_id FROM {s(name)} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM {sql.t['account']} a WHERE a.type = s.type AND a.account_id = s.account_id) "
            "ORDER BY s.line LIMIT 1",
        )
        if rows:
            line, type_, id_ = rows[0]
            found.append((line, f"{what}: account {type_}/{id_} is neither in the file nor in the database"))
    if found:
        raise ExchangeError(*min(found))


RULE = "a contact holds roles only on its own customer's accounts"


def _check_contact_customers(cursor, sql, s, loaded) -> None:
    """A contact belongs to one customer, and holds roles only on that customer's accounts.

    Run once the file's accounts are written, so an account record that moves an account to another
    customer counts: the customer an account has now is the one the file gives it, or the stored one.
    Two ways to break the rule: a contact record naming an account of another customer (or having no
    customer at all), reported on the contact's line; and an account record giving an account a new
    customer while a stored contact the file does not restate still holds roles on it, reported on the
    account's line.
    """
    t = sql.t
    found = []
    if loaded["link"]:
        rows = _rows(
            cursor,
            f"SELECT l.line, l.contact_number, l.type, l.account_id, c.rcn, cu.rcn FROM {s('link')} l "
            f"JOIN {s('contact')} c ON c.line = l.line "
            f"JOIN {t['account']} a ON a.type = l.type AND a.account_id = l.account_id "
            f"JOIN {t['customer']} cu ON cu.id = a.customer_id "
            "WHERE c.rcn IS NULL OR c.rcn <> cu.rcn ORDER BY l.line LIMIT 1",
        )
        if rows:
            line, number, type_, id_, rcn, owner = rows[0]
            where = ""
            if loaded["account"]:
                stated = _rows(
                    cursor,
                    f"SELECT line FROM {s('account')} WHERE type = %s AND account_id = %s",
                    [type_, id_],
                )
                where = f" (its record on line {stated[0][0]})" if stated else ""
            if rcn is None:
                reason = f"contact {number} has no rcn, so it cannot hold roles on account {type_}/{id_}: {RULE}"
            else:
                reason = (
                    f"contact {number} of {rcn} names account {type_}/{id_}, which belongs to {owner}{where}: {RULE}"
                )
            found.append((line, reason))
    if loaded["account"]:
        rows = _rows(
            cursor,
            f"SELECT sa.line, sa.type, sa.account_id, sa.rcn, ct.contact_number, cu.rcn FROM {s('account')} sa "
            f"JOIN {t['account']} a ON a.type = sa.type AND a.account_id = sa.account_id "
            f"JOIN {t['link']} l ON l.account_id = a.id "
            f"JOIN {t['contact']} ct ON ct.id = l.contact_id "
            f"LEFT JOIN {t['customer']} cu ON cu.id = ct.customer_id "
            "WHERE (ct.customer_id IS NULL OR ct.customer_id <> a.customer_id) "
            f"AND NOT EXISTS (SELECT 1 FROM {s('contact')} sc WHERE sc.contact_number = ct.contact_number) "
            "ORDER BY sa.line, ct.contact_number LIMIT 1",
        )
        if rows:
            line, type_, id_, rcn, number, theirs = rows[0]
            found.append(
                (
                    line,
                    f"account {type_}/{id_} belongs to {rcn} here, but contact {number} of {theirs or 'no customer'} "
                    f"holds roles on it: {RULE} (restate the contact in the file, without this account)",
                )
            )
    if found:
        raise ExchangeError(*min(found))


def _upsert(cursor, sql, *, table, conflict, insert, select, source, update, fresh: bool = False) -> None:
    """INSERT ... SELECT ... ON CONFLICT DO UPDATE, leaving rows that would not change untouched.

    `fresh`: the table was empty when the import began (and its unique constraints may be set
    aside): the staged keys are unique (_check_duplicates), so nothing can conflict and a plain
    INSERT does the same.
    """
    q = sql.q
    statement = (
        f"INSERT INTO {table} ({', '.join(q(c) for c in insert)}) SELECT {', '.join(select)} FROM {source} WHERE true"
    )
    if not fresh:
        sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in update)
        changed = " OR ".join(sql.differs(f"{table}.{q(c)}", f"excluded.{q(c)}") for c in update)
        # `WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint.
        statement += f" ON CONFLICT ({', '.join(q(c) for c in conflict)}) DO UPDATE SET {sets} WHERE {changed}"
    cursor.execute(statement)


def _upsert_customers(cursor, sql, s, fresh: bool = False) -> None:
    t = sql.t
    # Customer records name their customer; the file's name wins and the customer is no longer implicit.
    _upsert(
        cursor,
        sql,
        table=t["customer"],
        conflict=("rcn",),
        insert=["rcn", "name", "implicit"],
        select=["s.rcn", "s.name", "false"],
        source=f"{s('customer')} s",
        update=["name", "implicit"],
        fresh=fresh,
    )
    # RCNs only named by accounts and contacts become implicit customers, unless they exist.
    named = f"SELECT rcn FROM {s('account')} UNION SELECT rcn FROM {s('contact')} WHERE rcn IS NOT NULL"
    if fresh:
        # The only customers are the file's.
        cursor.execute(
            f"INSERT INTO {t['customer']} (rcn, name, implicit) "
            f"SELECT u.rcn, NULL, true FROM ({named} EXCEPT SELECT rcn FROM {s('customer')}) u"
        )
    else:
        cursor.execute(
            f"INSERT INTO {t['customer']} (rcn, name, implicit) "
            f"SELECT u.rcn, NULL, true FROM ({named}) u WHERE true ON CONFLICT (rcn) DO NOTHING"
        )


def _upsert_namespaces(cursor, sql, s) -> None:
    t = sql.t
    cursor.execute(
        f"INSERT INTO {t['group']} (name) SELECT DISTINCT group_name FROM {s('ns_group')} WHERE true "
        "ON CONFLICT (name) DO NOTHING"
    )
    _upsert(
        cursor,
        sql,
        table=t["namespace"],
        conflict=("name",),
        insert=["name", "access"],
        select=["s.name", "s.access"],
        source=f"{s('namespace')} s",
        update=["access"],
    )
    for kind, through in (("r", "readers"), ("w", "writers")):
        cursor.execute(
            f"DELETE FROM {t[through]} WHERE namespace_id IN "
            f"(SELECT n.id FROM {t['namespace']} n JOIN {s('namespace')} s ON s.name = n.name)"
        )
        cursor.execute(
            f"INSERT INTO {t[through]} (namespace_id, group_id) "
            f"SELECT n.id, g.id FROM {s('ns_group')} s JOIN {t['namespace']} n ON n.name = s.namespace "
            f"JOIN {t['group']} g ON g.name = s.group_name WHERE s.kind = %s ORDER BY s.line, s.pos",
            [kind],
        )


def _upsert_contacts(cursor, sql, s, loaded, aside) -> None:
    t, q = sql.t, sql.q
    # Contacts already stored: their addresses, emails, phones and account links are replaced.
    cursor.execute(
        f"SELECT c.id FROM {t['contact']} c JOIN {s('contact')} s ON s.contact_number = c.contact_number LIMIT 1"
    )
    replacing = cursor.fetchone() is not None
    columns = [c for c, _ in STAGING["contact"] if c not in ("line", "contact_number", "rcn")]
    _upsert(
        cursor,
        sql,
        table=t["contact"],
        conflict=("contact_number",),
        insert=["contact_number", "customer_id", *columns],
        select=["s.contact_number", "c.id", *(f"s.{c}" for c in columns)],
        source=f"{s('contact')} s LEFT JOIN {t['customer']} c ON c.rcn = s.rcn",
        update=["customer_id", *columns],
        fresh="contact" in aside.targets,
    )
    aside.analyze(cursor, sql, "contact")
    contact_join = f"JOIN {t['contact']} c ON c.contact_number = s.contact_number"
    if replacing:
        stored = f"SELECT c.id FROM {t['contact']} c JOIN {s('contact')} s ON s.contact_number = c.contact_number"
        cursor.execute(
            f"DELETE FROM {t['role']} WHERE link_id IN (SELECT id FROM {t['link']} WHERE contact_id IN ({stored}))"
        )
        for table in ("link", "address", "email", "phone"):
            cursor.execute(f"DELETE FROM {t[table]} WHERE contact_id IN ({stored})")
    # Staged columns are the target's, but for names SQL reserves (staged as STAGED_AS says).
    target = {staged: column for column, staged in STAGED_AS.items()}
    for name in ("address", "email", "phone"):
        if not loaded[name]:
            continue
        columns = [c for c, _ in STAGING[name] if c not in ("line", "pos", "contact_number")]
        insert = ["contact_id", *(target.get(c, c) for c in columns)]
        select = ["c.id", *(f"s.{c}" for c in columns)]
        cursor.execute(
            f"INSERT INTO {t[name]} ({', '.join(q(c) for c in insert)}) "
            f"SELECT {', '.join(select)} FROM {s(name)} s {contact_join} WHERE true ORDER BY s.line, s.pos"
        )
    account_join = f"JOIN {t['account']} a ON a.type = s.type AND a.account_id = s.account_id"
    if loaded["link"]:
        cursor.execute(
            f"INSERT INTO {t['link']} (account_id, contact_id) SELECT a.id, c.id FROM {s('link')} s "
            f"{contact_join} {account_join} WHERE true ORDER BY s.line, s.pos"
        )
        aside.analyze(cursor, sql, "link")
    if loaded["role"]:
        cursor.execute(
            f"INSERT INTO {t['role']} (link_id, role) SELECT l.id, s.role FROM {s('role')} s "
            f"{contact_join} {account_join} JOIN {t['link']} l ON l.account_id = a.id AND l.contact_id = c.id "
            "WHERE true ORDER BY s.line, s.pos"
        )


def _append_history(cursor, sql, s, name) -> None:
    """Append history rows in file order; a row equal to a stored one of the same account is skipped.

    Duplicates count: if the file holds a row twice and the database once, one copy is added, so
    importing the same file again adds nothing.
    """
    t, q = sql.t, sql.q
    columns = [c for c, _ in STAGING[name] if c not in ("line", "type", "account_id")]
    insert = ", ".join(q(c) for c in ["account_id", *columns])
    account_join = f"JOIN {t['account']} a ON a.type = s.type AND a.account_id = s.account_id"
    cursor.execute(f"SELECT 1 FROM {t[name]} LIMIT 1")
    if cursor.fetchone() is None:
        # Nothing stored yet (a first load): no duplicates to look for.
        cursor.execute(
            f"INSERT INTO {t[name]} ({insert}) SELECT a.id, {', '.join(f's.{c}' for c in columns)} "
            f"FROM {s(name)} s {account_join} WHERE true ORDER BY s.line"
        )
        return
    partition = ", ".join(["s.type", "s.account_id", *(f"s.{c}" for c in columns)])
    equal = " AND ".join(sql.same(f"h.{q(c)}", f"s.{c}") for c in columns)
    cursor.execute(
        f"INSERT INTO {t[name]} ({insert}) SELECT a.id, {', '.join(f's.{c}' for c in columns)} "
        f"FROM (SELECT s.*, row_number() OVER (PARTITION BY {partition} ORDER BY s.line) AS duplicate_no "
        f"FROM {s(name)} s) s {account_join} "
        f"WHERE s.duplicate_no > (SELECT count(*) FROM {t[name]} h WHERE h.account_id = a.id AND {equal}) "
        "ORDER BY s.line"
    )


def _invalid(numbered, line: int, exc: Invalid) -> ExchangeError:
    """The error for an invalid record, worded from the line as the `json` module reads it (numbered_lines)."""
    raw = getattr(numbered, "raw", None)
    return ExchangeError(line, str(exc) if raw is None else parallel.invalid_reason(raw, line, exc))


class numbered_lines:  # noqa: N801 (used like the generator it replaces)
    """(line number, parsed JSON) for each non-blank line of a binary stream; bad JSON is an ExchangeError.

    Lines are parsed by orjson; where it and the `json` module disagree, errors are worded from
    `json`'s reading, as they always were (parallel.reread, parallel.invalid_reason).
    """

    def __init__(self, stream):
        self.stream = stream
        self.raw = b""  # the line last read

    def __iter__(self) -> Iterator[tuple[int, object]]:
        loads = orjson.loads
        line = 0
        try:
            for line, raw in enumerate(self.stream, 1):  # noqa: B007 (line is used after the loop on read errors)
                try:
                    record = loads(raw)
                except orjson.JSONDecodeError:
                    try:
                        record = parallel.reread(raw)
                    except (ValueError, RecursionError) as exc:
                        raise ExchangeError(line, f"not valid JSON: {exc}") from None
                    if record is None:
                        continue
                self.raw = raw
                yield line, record
        except (OSError, EOFError) as exc:
            raise ExchangeError(line + 1, f"cannot read the file: {exc}") from None
