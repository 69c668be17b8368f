"""Limits on failed sign-ins: POST /v2.0/tokens, the staff sign-in page and the admin's, one mechanism for all three.

Failures are counted per (username, client address) pair and per client address, in fixed windows of the
rate's period (`CMS_SIGNIN_FAILURE_RATE`, default "20/min"). While a count is at the limit, further
attempts under it are refused until its window ends: a cool-down of at most one period. Nothing counts per
username alone, so nobody can lock a real user out by failing on their name from elsewhere.

Every attempt takes its place before the credentials are checked: one atomic increment per key, whose
result decides. N requests racing in parallel therefore get at most the limit's number of tries between
them (a read, then a check, then a write would let them all through). A successful sign-in gives its
place back, so people who sign in correctly are never slowed down.

The counts live where every worker process sees them: in Redis when REDIS_URL is set (INCR and EXPIRE
in one script), otherwise in the database (one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`
statement per attempt, table `identity_signinfailurecount`, created by `migrate`).

The client address is the peer address, unless `CMS_TRUSTED_PROXIES` says how many proxies in front of
the application append to X-Forwarded-For: then it is the address the outermost trusted proxy saw.
"""

import hashlib
import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import OperationalError, connection

__all__ = [
    "logger",
    "DEFAULT_RATE",
    "parse_rate",
    "configured_rate",
    "client_address",
    "SignInLimited",
    "DatabaseStore",
    "RedisStore",
    "FallbackStore",
    "default_store",
    "Attempt",
    "FailedSignInThrottle",
]

logger = logging.getLogger(__name__)

DEFAULT_RATE = "20/min"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """`"20/min"` -> (20, 60): how many failures are allowed in how many seconds."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0].lower()]


def configured_rate() -> str:
    return getattr(settings, "CMS_SIGNIN_FAILURE_RATE", None) or DEFAULT_RATE


def client_address(request) -> str:
    """The client's address: the peer, or with `CMS_TRUSTED_PROXIES` = N, the Nth address from the right of
    X-Forwarded-For (each trusted proxy appends the address it received the request from; whatever stands
    further left was written by the client and proves nothing)."""
    meta = getattr(request, "META", {}) or {}
    peer = meta.get("REMOTE_ADDR", "") or ""
    trusted = int(getattr(settings, "CMS_TRUSTED_PROXIES", 0) or 0)
    if trusted <= 0:
        return peer
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < trusted:
        # Fewer addresses than trusted proxies: the chain is not what the setting says; trust only the peer.
        return peer
    return forwarded[-trusted][:100]


def _digest(*parts: str) -> str:
    joined = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(joined).hexdigest()[:64]


class SignInLimited(Exception):
    """Too many failed sign-ins under this username and address, or from this address: wait `wait` seconds."""

    def __init__(self, wait: float):
        self.wait = max(1, math.ceil(wait))
        super().__init__(f"Too many failed sign-ins: try again in {self.wait} seconds")


# Stores: incr(key, now, period) -> (count after the increment, seconds left in its window);
# give_back(key, now, period) undoes one increment of the current window.


class DatabaseStore:
    """Counts in the table `identity_signinfailurecount`, one atomic upsert per attempt."""

    purge_chance = 0.01

    def _table(self) -> str:
        from cmsportal.identity.models import SignInFailureCount

        return connection.ops.quote_name(SignInFailureCount._meta.db_table)

    def incr(self, key: str, now: float, period: int) -> tuple[int, float]:
        table = self._table()
        # A window that has ended starts again at 1; otherwise add 1. SET expressions read the old row.
        sql = (
            f"INSERT INTO {table} (key, window_start, count) VALUES (%s, %s, 1) "  # noqa: S608 (a model's table)
            f"ON CONFLICT (key) DO UPDATE SET "
            f"count = CASE WHEN {table}.window_start <= %s THEN 1 ELSE {table}.count + 1 END, "
            f"window_start = CASE WHEN {table}.window_start <= %s THEN %s ELSE {table}.window_start END "
            f"RETURNING count, window_start"
        )
        expired_before = now - period
        count, window_start = self._execute(sql, [key, now, expired_before, expired_before, now])
        if random.random() < self.purge_chance:
            self.purge(now, period)
        return count, window_start + period - now

    def give_back(self, key: str, now: float, period: int) -> None:
        table = self._table()
        self._execute(
            f"UPDATE {table} SET count = count - 1 WHERE key = %s AND count > 0 AND window_start > %s",  # noqa: S608
            [key, now - period],
        )

    @staticmethod
    def _execute(sql: str, params: list, rowcount: bool = False):
        """Run one statement; the first row it returns, if any (with `rowcount`, how many rows it touched).

        SQLite in shared-cache mode (the test suite's in-memory database) answers a concurrent writer with
        "database table is locked" at once instead of waiting its busy timeout: wait a little and retry.
        """
        for wait in (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.2, 0.2, 0.5, 0.5, 1.0, None):
            try:
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    if rowcount:
                        return cursor.rowcount
                    return cursor.fetchone() if cursor.description else None
            except OperationalError as error:
                if wait is None or connection.vendor != "sqlite" or "locked" not in str(error):
                    raise
                time.sleep(wait)
        return None

    def purge(self, now: float, period: int) -> int:
        """Delete the rows of windows that have ended (one statement, retried like the increments)."""
        table = self._table()
        return self._execute(f"DELETE FROM {table} WHERE window_start <= %s", [now - period], rowcount=True) or 0  # noqa: S608


class RedisStore:
    """Counts in Redis: INCR, and EXPIRE when the key is new, in one script (atomic)."""

    _INCR = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""
    _GIVE_BACK = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""
    _clients: dict[str, object] = {}
    _lock = threading.Lock()

    def __init__(self, url: str, prefix: str = "cms:signin-failures:"):
        self.url = url
        self.prefix = prefix

    def _client(self):
        with self._lock:
            client = self._clients.get(self.url)
            if client is None:
                import redis

                client = redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
                self._clients[self.url] = client
            return client

    def incr(self, key: str, now: float, period: int) -> tuple[int, float]:
        count, ttl = self._client().eval(self._INCR, 1, self.prefix + key, period)
        return int(count), float(ttl)

    def give_back(self, key: str, now: float, period: int) -> None:
        self._client().eval(self._GIVE_BACK, 1, self.prefix + key)


class FallbackStore:
    """Redis, and the database while Redis does not answer (the limit must not fail open)."""

    def __init__(self, primary, fallback):
        self.primary, self.fallback = primary, fallback

    def incr(self, key, now, period):
        try:
            return self.primary.incr(key, now, period)
        except Exception:  # noqa: BLE001 (any Redis failure: count in the database instead)
            logger.warning("Redis did not answer: counting failed sign-ins in the database", exc_info=True)
            return self.fallback.incr(key, now, period)

    def give_back(self, key, now, period):
        try:
            self.primary.give_back(key, now, period)
        except Exception:  # noqa: BLE001
            self.fallback.give_back(key, now, period)


def default_store():
    url = getattr(settings, "CMS_SIGNIN_REDIS_URL", None)
    if url:
        return FallbackStore(RedisStore(url), DatabaseStore())
    return DatabaseStore()


@dataclass
class Attempt:
    """A sign-in attempt that has taken its place under each key; `succeeded()` gives the places back."""

    limiter: "FailedSignInThrottle"
    keys: list[str]
    now: float
    done: bool = field(default=False)

    def succeeded(self) -> None:
        if not self.done:
            self.done = True
            for key in self.keys:
                self.limiter.store.give_back(key, self.now, self.limiter.duration)


class FailedSignInThrottle:
    """Counts sign-in attempts per (username, address) pair and per address; refuses those over the limit."""

    def __init__(self, rate: str | None = None, *, store=None, timer=time.time):
        self.num, self.duration = parse_rate(rate or configured_rate())
        self.store = store if store is not None else default_store()
        self.timer = timer

    def keys(self, request, username: str | None) -> list[str]:
        address = client_address(request)
        keys = [f"ip:{_digest(address)}"]
        if username:
            keys.insert(0, f"pair:{_digest(username.casefold(), address)}")
        return keys

    def attempt(self, request, username: str | None) -> Attempt:
        """Take this attempt's place under each key, or raise SignInLimited if any is at the limit.

        The attempt counts as a failure unless `succeeded()` is called on what this returns.
        """
        now = self.timer()
        keys = self.keys(request, username)
        waits = []
        for key in keys:
            count, left = self.store.incr(key, now, self.duration)
            if count > self.num:
                waits.append(left)
        if waits:
            raise SignInLimited(max(waits))
        return Attempt(self, keys, now)
