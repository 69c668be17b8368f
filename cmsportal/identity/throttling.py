"""Limits on failed sign-ins at POST /v2.0/tokens, per username and per client address.

Only failures count, so clients that sign in correctly are never slowed down, while guessing passwords
or keys is held to a few attempts a minute. Counts live in the cache (shared between processes when
REDIS_URL is set). Rate: settings.CMS_TOKEN_FAILURE_RATE, default "20/min".
"""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

DEFAULT_RATE = "20/min"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """`"20/min"` -> (20, 60): how many failures are allowed in how many seconds."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0].lower()]


class FailedSignInThrottle:
    """Counts failed sign-ins; refuses further attempts while either count is at the limit."""

    cache_prefix = "cms:signin-failures"

    def __init__(self, rate: str | None = None, timer=time.time):
        self.num, self.duration = parse_rate(rate or getattr(settings, "CMS_TOKEN_FAILURE_RATE", DEFAULT_RATE))
        self.timer = timer

    def _keys(self, request, username: str | None) -> list[str]:
        # The peer address, not X-Forwarded-For, which any client can write.
        keys = [f"{self.cache_prefix}:ip:{request.META.get('REMOTE_ADDR', '')}"]
        if username:
            name = hashlib.sha256(username.casefold().encode("utf-8", "surrogatepass")).hexdigest()
            keys.append(f"{self.cache_prefix}:user:{name}")
        return keys

    def _recent(self, key: str, now: float) -> list[float]:
        return [moment for moment in cache.get(key, []) if moment > now - self.duration]

    def wait(self, request, username: str | None) -> float | None:
        """Seconds until another attempt is allowed, or None if one is allowed now."""
        now = self.timer()
        waits = []
        for key in self._keys(request, username):
            recent = self._recent(key, now)
            if len(recent) >= self.num:
                waits.append(recent[-self.num] + self.duration - now)
        return max(waits) if waits else None

    def record_failure(self, request, username: str | None) -> None:
        now = self.timer()
        for key in self._keys(request, username):
            recent = self._recent(key, now)
            recent.append(now)
            cache.set(key, recent[-self.num :], self.duration)
