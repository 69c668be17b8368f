"""Read replicas: which database each query goes to (`DATABASE_REPLICA_URLS`, docs/SCALING.md).

The primary (`default`) takes every write and every read that must see the latest data; the replicas
(`replica1`, `replica2`, ...: PostgreSQL streaming standbys) take the other reads.

Reads go to a replica only where a request says they may: `ReplicaMiddleware` lets the reads of a safe
request (GET, HEAD, OPTIONS: the API's reads, the staff pages, search and suggestions, CSV exports) go to
one, and `cms_export` asks for one with `reading_from_replicas()`. Everything else reads from the primary:
- writes, and every query of a request that may write (POST, PUT, PATCH, DELETE): a form or an API
  update reads what it is about to change from where it changes it;
- reads inside a transaction (`atomic` on the primary): they must see the transaction's own writes;
- the admin (`/admin/`);
- every read of a client that wrote in the last `CMS_READ_YOUR_WRITES_SECONDS`: after an unsafe request
  answered below 400, the middleware remembers the client by its session and by its API token (in the
  cache: shared by every worker with REDIS_URL) and by a signed cookie (the browser carries it to whichever
  worker), so a page that follows a form, or an API read that follows an update, shows the change;
- management commands, the shell and anything else outside a request.

A replica is used only while it is healthy: it accepts connections and is at most
`CMS_REPLICA_MAX_LAG_SECONDS` behind. Each worker checks a replica at most every
`CMS_REPLICA_CHECK_SECONDS`, on a connection of its own, and logs one line when a replica goes away or comes
back. The lag is `now() - pg_last_xact_replay_timestamp()`, the age of the last transaction replayed, but
only while the replica has received WAL it has not replayed: on a quiet primary that timestamp ages while
the replica is fully current. With no healthy replica, reads go to the primary.

A replica that fails in the middle of a safe request (it stopped, its connections were cut): the
request's 503 is not the answer while the primary can give one. The replica is checked at once, marked
down, and the request is run again on the primary.

The API's token lookup falls back to the primary for a token the replica does not know yet (issued a
moment ago by `POST /v2.0/tokens`); a revoked token may still be accepted by a replica for as long as
it lags, unless it is the revoking client that asks.
"""

import hashlib
import itertools
import logging
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections

__all__ = [
    "logger",
    "SAFE_METHODS",
    "COOKIE",
    "LAG_SQL",
    "Probe",
    "ReplicaHealth",
    "ReplicaMiddleware",
    "ReplicaRouter",
    "health",
    "probe",
    "read_alias",
    "reading_from_primary",
    "reading_from_replicas",
    "reads_on_replica",
    "replica_aliases",
]

logger = logging.getLogger("cmsportal.replicas")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
COOKIE = "cms_wrote"  # signed "this browser wrote at ...": read-your-writes without a shared cache
_COOKIE_SALT = "cmsportal.replicas.wrote"

# 0 when the replica has replayed everything it received (whatever the age of its last transaction),
# else the age of the last transaction it replayed; 0 on a server that is not a standby at all.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)
END::float8
"""


@dataclass
class _Reads:
    """Where the reads of the current request (or command) may go."""

    primary: bool  # every read on the primary
    replica: str | None = None  # the replica chosen for this request's reads, once one was needed


_reads: ContextVar[_Reads | None] = ContextVar("cmsportal_replica_reads", default=None)


def replica_aliases() -> list[str]:
    return list(getattr(settings, "CMS_REPLICAS", ()))


# --- health ---------------------------------------------------------------------------------------------


@dataclass
class _Health:
    healthy: bool | None = None  # None: never checked
    checked: float = float("-inf")  # time.monotonic() of the last check
    reason: str = ""
    state: str = "unchecked"  # "ok", "lagging", "unreachable"
    lag: float | None = None  # seconds behind the primary, when it answered


@dataclass(frozen=True)
class Probe:
    """What one check of a replica found."""

    healthy: bool
    reason: str  # for the log: why it is skipped, or how far behind it is
    state: str  # "ok", "lagging" (further behind than CMS_REPLICA_MAX_LAG_SECONDS) or "unreachable"
    lag: float | None = None


class ReplicaHealth:
    """Each replica's state in this worker: checked at most every CMS_REPLICA_CHECK_SECONDS."""

    def __init__(self):
        self._lock = threading.Lock()
        self._states: dict[str, _Health] = {}

    def reset(self) -> None:
        with self._lock:
            self._states.clear()

    def is_healthy(self, alias: str) -> bool:
        state = self._states.get(alias)
        if state is not None and time.monotonic() - state.checked < settings.CMS_REPLICA_CHECK_SECONDS:
            return bool(state.healthy)
        return self.check(alias)

    def check(self, alias: str) -> bool:
        """Checks `alias` now; logs a line when its state changes."""
        found = probe(alias)
        with self._lock:
            state = self._states.setdefault(alias, _Health())
            changed = state.healthy is not found.healthy and not (state.healthy is None and found.healthy)
            state.healthy, state.checked, state.reason = found.healthy, time.monotonic(), found.reason
            state.state, state.lag = found.state, found.lag
        if changed:
            if found.healthy:
                logger.warning("Replica %s is back: reads go to it again (%s)", alias, found.reason)
            else:
                logger.warning("Replica %s is skipped: %s; its reads go elsewhere", alias, found.reason)
        return found.healthy

    def states(self) -> dict[str, str]:
        """{alias: "ok" | the reason it is skipped | "unchecked"} for every replica."""
        out = {}
        for alias in replica_aliases():
            state = self._states.get(alias)
            out[alias] = "unchecked" if state is None else ("ok" if state.healthy else state.reason)
        return out

    def report(self) -> dict[str, dict]:
        """For /healthz: {alias: {"status": "ok" | "lagging" | "unreachable", "lagSeconds": s}} for every replica,
        each checked if its last check is older than CMS_REPLICA_CHECK_SECONDS. Names and figures only: no
        address, no user, no password, no error text."""
        out = {}
        for alias in replica_aliases():
            self.is_healthy(alias)
            state = self._states.get(alias) or _Health()
            entry = {"status": state.state}
            if state.lag is not None:
                entry["lagSeconds"] = round(state.lag, 1)
            out[alias] = entry
        return out


def probe(alias: str) -> Probe:
    """What replica `alias` is like now, on a short-lived connection of its own (never a pooled one)."""
    import psycopg

    params = connections[alias].get_connection_params()
    params["autocommit"] = True
    limit = settings.CMS_REPLICA_MAX_LAG_SECONDS
    try:
        with psycopg.connect(**params) as conn:
            lag = conn.execute(LAG_SQL).fetchone()[0]
    except psycopg.Error as exc:
        lines = str(exc).strip().splitlines()
        return Probe(False, f"unreachable ({type(exc).__name__}: {lines[0][:200] if lines else ''})", "unreachable")
    if lag > limit:
        return Probe(False, f"{lag:.1f} s behind the primary (limit {limit:g} s)", "lagging", lag)
    return Probe(True, f"{lag:.1f} s behind the primary", "ok", lag)


health = ReplicaHealth()
_turn = itertools.count()


def read_alias() -> str:
    """The database the current reads go to (see the module docstring)."""
    reads = _reads.get()
    if reads is None or reads.primary:
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    if reads.replica is not None:
        return reads.replica
    aliases = replica_aliases()
    if aliases:
        start = next(_turn)  # spread the requests over the healthy replicas
        for offset in range(len(aliases)):
            alias = aliases[(start + offset) % len(aliases)]
            if health.is_healthy(alias):
                reads.replica = alias
                return alias
    reads.primary = True  # none is healthy: this request reads from the primary throughout
    return DEFAULT_DB_ALIAS


@contextmanager
def reading_from_replicas():
    """Lets the reads of the enclosed code (outside a request: `cms_export`) go to a healthy replica."""
    token = _reads.set(_Reads(primary=False))
    try:
        yield
    finally:
        _reads.reset(token)


@contextmanager
def reading_from_primary():
    """The enclosed reads go to the primary, whatever the request."""
    token = _reads.set(_Reads(primary=True))
    try:
        yield
    finally:
        _reads.reset(token)


def reads_on_replica() -> bool:
    """Whether the current reads would go to a replica."""
    return read_alias() != DEFAULT_DB_ALIAS


class ReplicaRouter:
    """The database router: writes and migrations on the primary; reads where `read_alias()` says."""

    def db_for_read(self, model, **hints):
        return read_alias()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        databases = {DEFAULT_DB_ALIAS, *replica_aliases()}
        if obj1._state.db in databases and obj2._state.db in databases:
            return True  # the same data: an object read from a replica may point at one from the primary
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


# --- read-your-writes -----------------------------------------------------------------------------------


def _client_keys(request, session_keys) -> list[str]:
    keys = []
    token = request.META.get("HTTP_X_AUTH_TOKEN", "").strip()
    if token:
        keys.append("cms:wrote:t:" + hashlib.sha256(token.encode()).hexdigest())
    keys.extend("cms:wrote:s:" + hashlib.sha256(key.encode()).hexdigest() for key in session_keys if key)
    return keys


def _wrote_recently(request, window: float) -> bool:
    value = request.COOKIES.get(COOKIE)
    if value:
        try:
            signing.loads(value, salt=_COOKIE_SALT, max_age=window)
            return True
        except signing.BadSignature:
            pass
    keys = _client_keys(request, [request.COOKIES.get(settings.SESSION_COOKIE_NAME)])
    return bool(keys) and bool(cache.get_many(keys))


def _remember_write(request, response, window: float) -> None:
    session = getattr(request, "session", None)
    session_keys = {request.COOKIES.get(settings.SESSION_COOKIE_NAME), getattr(session, "session_key", None)}
    keys = _client_keys(request, session_keys)
    if keys:
        cache.set_many(dict.fromkeys(keys, 1), timeout=max(1, int(window + 0.999)))
    response.set_cookie(
        COOKIE,
        signing.dumps(1, salt=_COOKIE_SALT),
        max_age=max(1, int(window + 0.999)),
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )


def _admin_prefix() -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("admin:index")
    except NoReverseMatch:
        return "/admin/"


class ReplicaMiddleware:
    """Sets where the request's reads go, remembers the clients that wrote, and runs again on the primary a
    safe request that a failing replica answered with a 503 (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = None

    def __call__(self, request):
        if not replica_aliases():
            return self.get_response(request)
        if self.admin_prefix is None:
            self.admin_prefix = _admin_prefix()
        window = settings.CMS_READ_YOUR_WRITES_SECONDS
        safe = request.method in SAFE_METHODS
        primary = not safe or request.path_info.startswith(self.admin_prefix) or _wrote_recently(request, window)
        reads = _Reads(primary=primary)
        token = _reads.set(reads)
        try:
            response = self.get_response(request)
            if response.status_code == 503 and reads.replica is not None and not health.check(reads.replica):
                # The replica failed under this request: the primary answers it instead.
                reads.primary, reads.replica = True, None
                response = self.get_response(request)
        finally:
            _reads.reset(token)
        if response.streaming:
            # Its content (a CSV export) is read after this returns: its reads go where the request's went.
            response.streaming_content = _streamed(reads, response.streaming_content)
        if not safe and response.status_code < 400:
            _remember_write(request, response, window)
        return response


def _streamed(reads: _Reads, chunks):
    iterator = iter(chunks)
    while True:
        token = _reads.set(reads)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            _reads.reset(token)
        yield chunk
