"""robots.txt rules per host (protego), cached process-wide so each host's file is fetched once per TTL."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from protego import Protego

ROBOTS_TTL_S = 24 * 3600.0
ROBOTS_FAILURE_TTL_S = 300.0
ROBOTS_MAX_BYTES = 512 * 1024  # larger files are cut here, as the major crawlers do


@dataclass(slots=True)
class RobotsRules:
    """What one host's robots.txt says; `rules` None means everything is allowed."""

    rules: Protego | None
    unreachable_reason: str | None = None  # set when robots.txt could not be read (5xx, network error)

    def allows(self, url: str, agent: str) -> bool:
        """True when `agent` may fetch `url`."""
        if self.unreachable_reason is not None:
            return False
        return self.rules is None or self.rules.can_fetch(url, agent)

    def crawl_delay_s(self, agent: str) -> float | None:
        """Crawl-delay for `agent`, if the file sets one."""
        if self.rules is None:
            return None
        delay = self.rules.crawl_delay(agent)
        return float(delay) if delay is not None else None


def rules_from_response(status: int | None, body: bytes | None, error: str | None) -> RobotsRules:
    """Interpret a robots.txt fetch as RFC 9309 does: 2xx parse, 4xx allow all, 5xx/unreachable disallow."""
    if status is not None and 200 <= status < 300 and body is not None:
        text = body[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace")
        return RobotsRules(Protego.parse(text))
    if status is not None and 400 <= status < 500:
        return RobotsRules(None)
    reason = f"robots.txt unreachable ({status if status is not None else error}); assuming disallow"
    return RobotsRules(None, unreachable_reason=reason)


class RobotsCache:
    """Thread-safe cache of RobotsRules keyed by origin (scheme://host:port)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, RobotsRules]] = {}

    def get(self, origin: str) -> RobotsRules | None:
        """Cached rules for `origin`, or None when absent or expired."""
        with self._lock:
            entry = self._entries.get(origin)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, origin: str, rules: RobotsRules) -> None:
        """Store rules for `origin` (failures are kept for a shorter time)."""
        ttl = ROBOTS_FAILURE_TTL_S if rules.unreachable_reason else ROBOTS_TTL_S
        with self._lock:
            self._entries[origin] = (time.monotonic() + ttl, rules)

    def clear(self) -> None:
        """Forget every origin (tests)."""
        with self._lock:
            self._entries.clear()

    async def rules_for(self, origin: str, load: Callable[[str], Awaitable[RobotsRules]]) -> RobotsRules:
        """Cached rules for `origin`, loading them with `load(origin)` on a miss."""
        cached = self.get(origin)
        if cached is not None:
            return cached
        rules = await load(origin)
        self.put(origin, rules)
        return rules


ROBOTS_CACHE = RobotsCache()
