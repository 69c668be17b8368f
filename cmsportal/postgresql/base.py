"""Django's PostgreSQL backend with a cheaper connection health check and prepared statements on request.

Health check. With `CONN_HEALTH_CHECKS`, Django checks a persistent connection before its first use in
each request by running `SELECT 1`: a round trip to the server on every request, and on a busy machine
as much PostgreSQL CPU as the request's own indexed lookups. A connection the server has closed
(restart, `pg_terminate_backend`, idle timeout) can be recognised locally instead: the server sends an
error message and closes the socket, so an idle connection whose socket is readable has something the
client did not ask for. Only then is `SELECT 1` run, to tell a harmless message (a parameter status
report) from a dead connection; an idle, quiet connection is usable. A connection that died without a
word (a network partition) passes this check, as it would pass `SELECT 1` only after a long timeout;
its failure reaches the request, and Django closes the connection at the end of it.

Prepared statements. Django's cursors bind parameters on the client and never prepare.
`prepared_cursor()` gives a cursor, wrapped like any other (health check, error translation, query
logging, execute wrappers), whose statements are bound on the server and prepared: PostgreSQL parses
and plans each distinct statement once per connection. It is for fixed-shape queries run on every
request (cmsportal/api/precompiled.py).

Dates. Django reads `timestamptz` with a loader written in Python that matches each value against a
regular expression: about 4 µs a value, two per account of a list page. The server writes them in the
session's time zone, which Django sets to its own; a value whose offset is `+00` is read by
`datetime.fromisoformat` instead (the same datetime, about a fifth of the time), any other the same way as
before.
"""

import select
from datetime import datetime
from functools import lru_cache

import psycopg
from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg import adapt, pq

__all__ = ["PreparedCursor", "TimestamptzLoader", "DatabaseOperations", "DatabaseWrapper"]


class PreparedCursor(psycopg.Cursor):
    """A server-side binding cursor that prepares every statement it runs."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


class TimestamptzLoader(BaseTzLoader):
    """Django's `timestamptz` loader (the value's wall time in the session's zone, with Django's tzinfo), reading
    values written at offset +00 with `datetime.fromisoformat`. Anything else (other offsets, BC dates, years
    past 9999, infinity) goes to Django's loader, which answers or fails as it always did."""

    def load(self, data):
        if data[-3:] == b"+00":
            try:
                return datetime.fromisoformat(bytes(data[:-3]).decode()).replace(tzinfo=self.timezone)
            except ValueError:
                pass
        return super().load(data)


@lru_cache
def _adapters(template: adapt.AdaptersMap, timezone) -> adapt.AdaptersMap:
    """Django's adapters for a time zone, with the faster `timestamptz` loader."""
    context = adapt.AdaptersMap(template)
    context.register_loader("timestamptz", type("TimestamptzLoader", (TimestamptzLoader,), {"timezone": timezone}))
    return context


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        if isinstance(cursor, PreparedCursor):
            # Shown with its values, as the client-side binding cursors' queries are.
            try:
                return self.compose_sql(sql, params)
            except psycopg.errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self):
        params = super().get_connection_params()
        if "context" in params:
            params["context"] = _adapters(params["context"], self.timezone)
        return params

    def is_usable(self):
        conn = self.connection
        if conn is None or conn.closed:
            return False
        pgconn = conn.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        status = pgconn.transaction_status
        if status in (pq.TransactionStatus.INERROR, pq.TransactionStatus.UNKNOWN):
            return False
        if status != pq.TransactionStatus.IDLE:
            return super().is_usable()
        try:
            readable, _, _ = select.select([pgconn.socket], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable or super().is_usable()

    def prepared_cursor(self):
        """A cursor whose statements PostgreSQL prepares (see the module docstring)."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(PreparedCursor(self.connection))
