"""Request counting for rate limits: at most N requests per key over any 60 s.

In-process (one count per worker process). Several workers multiply the effective limit by their
number; production's shared counts (Redis) come with the production stack.
"""

from __future__ import annotations

import threading
import time
from collections import deque


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
