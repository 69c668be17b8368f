"""Valid tokens remembered between API calls, forgotten at the commit of anything that could change them.

Authenticating an API call by its X-Auth-Token is a query (the token, its user and whether the user may
see every account): on the hot reads that query was as much work for the worker and for PostgreSQL as the
read itself. Each worker process therefore remembers the tokens it found valid, for at most
CMS_TOKEN_CACHE_SECONDS (default 60), and forgets all of them as soon as any of these commits, in any
process: a token revoked, expired early, deleted or moved to another user; a user changed or deleted
(deactivation, password, superuser flag, name); a permission or group granted or withdrawn. Triggers on
those tables (migration identity 0004) send `NOTIFY cms_auth`; every worker process holds one connection
that LISTENs on that channel, and reads what arrived on it before each use of a remembered token (a
non-blocking read of a socket: no round trip). PostgreSQL sends the notification when the change commits;
it normally reaches every worker before the writer's response has left, so a token revoked by one request is
refused by the next request of any worker (nothing waits for the delivery: a worker whose listening backend
is slow to be scheduled could serve one more call from memory in that moment).

Where that guarantee cannot be given, nothing is remembered and every call asks the database as before:
SQLite (no LISTEN); a pooler in transaction mode (CMS_PREPARED_STATEMENTS=0: it cannot keep a LISTEN
either); CMS_TOKEN_CACHE_SECONDS=0; and while the listening connection is down (every remembered token is
forgotten when it is lost, and again once it listens anew, since it could not hear what happened between).

Changes made by this process are forgotten at once as well (the identity services and the signals of
cmsportal/identity/signals.py call `forget`), before their transaction commits.

Entries are filled from the primary only (a replica could still show a token revoked a moment ago), and
only if nothing was forgotten between the start of the lookup and its end.
"""

import logging
import os
import threading
import time

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.base import ModelState
from django.dispatch import receiver

__all__ = ["CHANNEL", "TokenCache", "cache", "connection_params", "enabled", "forget"]

logger = logging.getLogger("cmsportal.identity.tokencache")

CHANNEL = "cms_auth"
# At most this many tokens per worker process; when full, everything is forgotten (a new sign-in storm must
# not grow a worker without bound, and the tokens in use come back with their next call).
MAX_ENTRIES = 10_000
# Options of a Django database that are not libpq's (the listening connection takes the others).
_NOT_LIBPQ = frozenset(
    {"pool", "prepare_threshold", "server_side_binding", "isolation_level", "assume_role", "cursor_factory", "context"}
)
# After losing its connection, a process tries to listen again at most this often (seconds).
RETRY_SECONDS = 1.0


_enabled: bool | None = None


def enabled() -> bool:
    """Whether tokens may be remembered here at all (PostgreSQL, not behind a transaction pooler, seconds > 0).
    Decided once per process, again after a change of the settings it depends on (tests)."""
    global _enabled
    if _enabled is None:
        _enabled = bool(
            settings.CMS_TOKEN_CACHE_SECONDS > 0
            and settings.CMS_PREPARED_STATEMENTS
            and connections[DEFAULT_DB_ALIAS].vendor == "postgresql"
        )
    return _enabled


@receiver(setting_changed)
def _decide_again(setting, **kwargs):
    global _enabled
    if setting in ("CMS_TOKEN_CACHE_SECONDS", "CMS_PREPARED_STATEMENTS", "DATABASES"):
        _enabled = None


def connection_params(application_name: str) -> dict:
    """psycopg.connect's keywords for an autocommit connection of its own to the primary, with the primary's
    connection options (TLS, timeouts...) but for those of Django and of psycopg's pool."""
    params = connections[DEFAULT_DB_ALIAS].settings_dict
    options = {key: value for key, value in params.get("OPTIONS", {}).items() if key not in _NOT_LIBPQ}
    options.setdefault("connect_timeout", 3)
    return {
        "dbname": params["NAME"],
        "user": params.get("USER") or None,
        "password": params.get("PASSWORD") or None,
        "host": params.get("HOST") or None,
        "port": params.get("PORT") or None,
        "autocommit": True,
        **options,
        "application_name": application_name,
    }


class TokenCache:
    """One process's remembered tokens, with the LISTEN connection that tells it when to forget them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, object]] = {}
        self._generation = 0
        self._listener = None
        self._listener_pid = None
        self._retry_at = 0.0
        self._unheard = False  # the connection was lost (or never made) and that was logged

    # The listening connection.

    def _connect(self):
        import psycopg

        conn = psycopg.connect(**connection_params("cmsportal token cache"))
        conn.execute(f"LISTEN {CHANNEL}")
        return conn

    def _close_listener(self):
        conn, self._listener = self._listener, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 (already broken: nothing to do)
                logger.debug("closing the token cache's connection failed", exc_info=True)

    def _listening(self) -> bool:
        """Under the lock: read what the channel delivered (forgetting everything if anything did); whether the
        connection is up, so that what is remembered can be trusted."""
        if self._listener_pid is not None and self._listener_pid != os.getpid():
            # A forked child (gunicorn's workers after a preloading master) must not share the parent's socket.
            self._listener = None
            self._entries.clear()
            self._generation += 1
        if self._listener is None:
            now = time.monotonic()
            if now < self._retry_at:
                return False
            self._retry_at = now + RETRY_SECONDS
            try:
                self._listener = self._connect()
            except Exception:  # noqa: BLE001 (the database is away: the lookups say so themselves)
                if not self._unheard:
                    logger.warning("token cache: cannot listen on %s; tokens are checked on every call", CHANNEL)
                self._unheard = True
                return False
            if self._unheard:
                logger.warning("token cache: listening on %s again", CHANNEL)
            self._unheard = False
            self._listener_pid = os.getpid()
            # Whatever committed before LISTEN took effect was not heard: start from nothing.
            self._entries.clear()
            self._generation += 1
            return True
        pgconn = self._listener.pgconn
        try:
            pgconn.consume_input()  # non-blocking: takes what the socket holds; raises if the connection is gone
            heard = False
            while pgconn.notifies() is not None:
                heard = True
        except Exception:  # noqa: BLE001 (connection lost: trust nothing remembered)
            logger.warning("token cache: lost its connection; tokens are checked on every call until it is back")
            self._unheard = True
            self._close_listener()
            self._entries.clear()
            self._generation += 1
            return False
        if heard:
            self._entries.clear()
            self._generation += 1
        return True

    # The cache.

    def generation(self) -> int | None:
        """A stamp to take before a lookup and give to `put`, or None when nothing may be remembered now."""
        with self._lock:
            if not self._listening():
                return None
            return self._generation

    def get(self, key_hash: str):
        """A copy of the remembered token for `key_hash` (its user a copy too), or None."""
        with self._lock:
            if not self._listening():
                return None
            entry = self._entries.get(key_hash)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._entries[key_hash]
                return None
            token = entry[1]
        # Each request gets objects of its own: nothing it sets on them reaches another request.
        return _copy(token)

    def put(self, key_hash: str, token, generation: int | None) -> None:
        """Remember `token` (with its user loaded), unless something was forgotten since `generation`."""
        if generation is None:
            return
        with self._lock:
            if generation != self._generation or self._listener is None:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key_hash] = (time.monotonic() + settings.CMS_TOKEN_CACHE_SECONDS, _copy(token))

    def used(self, key_hash: str, moment) -> None:
        """Note on the remembered token that its use at `moment` was recorded (`last_used`)."""
        with self._lock:
            entry = self._entries.get(key_hash)
            if entry is not None:
                entry[1].last_used = moment

    def forget(self) -> None:
        """Forget every remembered token (this process changed something a token's validity depends on)."""
        with self._lock:
            self._entries.clear()
            self._generation += 1

    def close(self) -> None:
        with self._lock:
            self._close_listener()
            self._entries.clear()
            self._generation += 1

    def __len__(self) -> int:
        return len(self._entries)


def _instance_copy(instance):
    """A shallow copy of a model instance read from the database, its related-object cache empty (a tenth of
    what `copy.copy` costs, which pickles its state)."""
    clone = instance.__class__.__new__(instance.__class__)
    attributes = instance.__dict__.copy()
    state = ModelState()
    state.db, state.adding = instance._state.db, False
    attributes["_state"] = state
    clone.__dict__ = attributes
    return clone


def _copy(token):
    """A copy of `token` holding a copy of its user."""
    clone = _instance_copy(token)
    clone._state.fields_cache["user"] = _instance_copy(token.user)
    return clone


cache = TokenCache()


def forget() -> None:
    """Forget every token this process remembers (called by the writes of identity before they commit)."""
    cache.forget()
