"""Request counting for rate limits: at most N requests per key over any 60 s.

In process by default (one count per worker process: several workers multiply the effective limit
by their number). With CREDIT_REDIS_URL set (the production stack), every worker counts in Redis:
one sliding window per key, a sorted set of request times trimmed and counted by one Lua script
(atomic, on Redis's clock). If Redis does not answer, the request is let through and the failure
logged (at most once a minute): a rate limit must not turn a Redis outage into an API outage.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque

log = logging.getLogger(__name__)


class RateLimit:
    """At most `per_minute` requests per key over any 60 s, in this process; 0 or less: no limit."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str, now: float | None = None) -> int:
        """0 when allowed (and counted), else seconds until the next request is allowed."""
        if self.per_minute <= 0:
            return 0
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= 60.0:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(1, int(60.0 - (now - hits[0])) + 1)
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle keys
                for k in [k for k, v in self._hits.items() if not v or now - v[-1] >= 60.0]:
                    del self._hits[k]
            return 0


# KEYS[1] the window; ARGV: limit, member. Returns 0 (counted) or the seconds until a slot frees.
_WINDOW_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60)
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, math.floor(60 - (now - tonumber(oldest[2]))) + 1)
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('EXPIRE', KEYS[1], 61)
return 0
"""


class RedisRateLimit:
    """The same limit as RateLimit, counted in Redis for every worker and host sharing `url`."""

    def __init__(self, per_minute: int, url: str, namespace: str) -> None:
        import redis

        self.per_minute = per_minute
        self.namespace = namespace
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._client.register_script(_WINDOW_SCRIPT)
        self._last_error = 0.0

    def retry_after(self, key: str, now: float | None = None) -> int:
        if self.per_minute <= 0:
            return 0
        try:
            return int(self._script(keys=[f"credit:rate:{self.namespace}:{key}"],
                                    args=[self.per_minute, uuid.uuid4().hex]))  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - any Redis failure: fail open, say so
            if time.monotonic() - self._last_error > 60:
                self._last_error = time.monotonic()
                log.error("rate limit not counted (Redis: %s); requests are let through", type(exc).__name__)
            return 0


def make_rate_limit(per_minute: int, redis_url: str, namespace: str) -> RateLimit | RedisRateLimit:
    """In Redis when `redis_url` is set (shared by every worker), else in this process."""
    if redis_url and per_minute > 0:
        return RedisRateLimit(per_minute, redis_url, namespace)
    return RateLimit(per_minute)
