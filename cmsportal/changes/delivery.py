"""The webhook worker: claims due deliveries from the outbox, signs and POSTs each, records the answer.

What a receiver gets (docs/WEBHOOKS.md): a JSON body `{"event", "subscription", "delivery", "attempt",
"change"}` (the change as `change_to_dict` writes it) and the headers

    X-Cms-Event: <objectType>.<action>        X-Cms-Delivery: <delivery id>
    X-Cms-Timestamp: <Unix seconds>           X-Cms-Signature: sha256=<hex>

where the signature is HMAC-SHA256, keyed with the subscription's secret, of the timestamp, a dot, and the raw
body (`f"{timestamp}.".encode() + body`): the timestamp is signed, so a receiver that refuses old timestamps
refuses a replayed delivery. A 2xx answer delivers; anything else (another status, a refused or dropped
connection, a timeout) is retried after an exponential backoff with jitter, capped, until the subscription's
attempts are spent, and then the delivery is dead (the admin can resend it). Redirects are not followed.
"""

import hashlib
import hmac
import http.client
import json
import logging
import random
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.db import close_old_connections, connections

from . import outbox
from .models import Delivery
from .shapes import change_to_dict

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Outcome",
    "Worker",
    "backoff",
    "body_of",
    "post",
    "sign",
]

log = logging.getLogger("cmsportal.changes.delivery")

SIGNATURE_HEADER = "X-Cms-Signature"
TIMESTAMP_HEADER = "X-Cms-Timestamp"
DELIVERY_HEADER = "X-Cms-Delivery"
EVENT_HEADER = "X-Cms-Event"
USER_AGENT = "cmsportal-webhooks/1"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Cms-Signature value: HMAC-SHA256 of `timestamp.body` keyed with the secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def body_of(delivery: Delivery) -> bytes:
    change = delivery.change
    return json.dumps(
        {
            "event": f"{change.object_type}.{change.action}",
            "subscription": delivery.subscription.name,
            "delivery": str(delivery.pk),
            "attempt": delivery.attempts,
            "change": change_to_dict(change),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


@dataclass
class Outcome:
    status: int | None  # the HTTP status answered, None when there was no answer
    error: str  # empty when delivered

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, body: bytes, headers: dict, *, connect_timeout: float, read_timeout: float) -> Outcome:
    """POST `body`; `connect_timeout` bounds the connection, `read_timeout` each wait for the answer."""
    try:
        parts = urllib.parse.urlsplit(url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = kind(parts.hostname, parts.port, timeout=connect_timeout)
    except (ValueError, http.client.HTTPException) as error:  # a URL stored before it was checked, say
        return Outcome(None, f"Bad URL: {error}")
    try:
        connection.connect()
        connection.sock.settimeout(read_timeout)
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(65536)  # a little of the answer, so the receiver is not cut off mid-write
        if 200 <= response.status < 300:
            return Outcome(response.status, "")
        return Outcome(response.status, f"HTTP {response.status} {response.reason}")
    except (OSError, http.client.HTTPException) as error:
        return Outcome(None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
    finally:
        connection.close()


def backoff(attempt: int, *, base: float, cap: float) -> timedelta:
    """The wait after failed attempt `attempt` (1, 2, ...): base * 2^(attempt-1), capped, less up to half (jitter)."""
    delay = min(cap, base * 2 ** min(attempt - 1, 30))
    return timedelta(seconds=random.uniform(delay / 2, delay))


class Worker:
    """Claims batches of due deliveries and delivers each batch's with up to `concurrency` requests at once.

    A batch holds at most one delivery per subscription and object (the outbox holds the later ones back),
    so concurrent requests never reorder an object's changes. `stop()` (SIGTERM) lets the batch under way
    finish, then `run` and `drain` return.
    """

    def __init__(
        self,
        *,
        batch: int = 50,
        concurrency: int = 4,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        backoff_base: float = 10.0,
        backoff_cap: float = 3600.0,
        lease: float = 300.0,
        using: str = "default",
    ):
        self.batch, self.concurrency, self.using = batch, concurrency, using
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.lease = timedelta(seconds=lease)
        self.stopping = threading.Event()

    def stop(self, *args) -> None:
        self.stopping.set()

    def deliver(self, delivery: Delivery) -> Outcome:
        body = body_of(delivery)
        timestamp = str(int(time.time()))
        change = delivery.change
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: f"{change.object_type}.{change.action}",
            DELIVERY_HEADER: str(delivery.pk),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(delivery.subscription.secret, timestamp, body),
        }
        return post(
            delivery.subscription.url,
            body,
            headers,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
        )

    def record(self, delivery: Delivery, outcome: Outcome, elapsed: float) -> str:
        where = (
            f"delivery {delivery.pk} change {delivery.change_id} to {delivery.subscription.name} "
            f"attempt {delivery.attempts}/{delivery.subscription.max_attempts}"
        )
        if outcome.delivered:
            kept = outbox.delivery_succeeded(delivery=delivery, status=outcome.status, using=self.using)
            state = "delivered" if kept else "lapsed"
            log.info("%s: %s (HTTP %s, %.0f ms)", where, state, outcome.status, elapsed * 1000)
            return state
        retry_in = backoff(delivery.attempts, base=self.backoff_base, cap=self.backoff_cap)
        state = outbox.delivery_failed(
            delivery=delivery, error=outcome.error, status=outcome.status, retry_in=retry_in, using=self.using
        )
        if state == "pending":
            log.warning("%s: %s; retry in %.0f s", where, outcome.error, retry_in.total_seconds())
        else:
            log.warning("%s: %s; %s", where, outcome.error, state or "lapsed")
        return state or "lapsed"

    def _timed(self, delivery: Delivery) -> tuple[Outcome, float]:
        started = time.monotonic()
        return self.deliver(delivery), time.monotonic() - started

    def run_once(self) -> int:
        """Claim one batch and deliver it; how many deliveries it held."""
        claimed = outbox.deliveries_claim(limit=self.batch, lease=self.lease, using=self.using)
        if not claimed:
            return 0
        if self.concurrency > 1 and len(claimed) > 1:
            # The requests run in threads; the database is written from this thread only.
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(claimed))) as pool:
                outcomes = list(pool.map(self._timed, claimed))
        else:
            outcomes = [self._timed(delivery) for delivery in claimed]
        for delivery, (outcome, elapsed) in zip(claimed, outcomes, strict=True):
            self.record(delivery, outcome, elapsed)
        return len(claimed)

    def drain(self) -> int:
        """Deliver until nothing is due (or stop() was called); how many attempts were made."""
        total = 0
        while not self.stopping.is_set():
            count = self.run_once()
            if not count:
                break
            total += count
        return total

    def run(self, *, poll: float = 2.0) -> None:
        """Deliver until stop(): drain, then wait `poll` seconds, again."""
        log.info("webhook worker started (batch %s, concurrency %s)", self.batch, self.concurrency)
        try:
            while not self.stopping.is_set():
                close_old_connections()
                try:
                    self.drain()
                except Exception:
                    # A lost database connection or the like: say so, let Django reconnect, carry on.
                    log.exception("webhook worker: delivering failed; retrying in %s s", poll)
                    connections[self.using].close()
                self.stopping.wait(poll)
        finally:
            log.info("webhook worker stopped")
