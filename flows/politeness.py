"""Per-host politeness shared by everything that fetches: concurrency limit, minimum spacing, Retry-After."""

from __future__ import annotations

import asyncio
import email.utils
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

MAX_CRAWL_DELAY_S = 30.0  # a larger robots.txt Crawl-delay is cut here, or one host could stall a whole run


class HostSchedule:
    """Process-wide earliest-next-request time per host, so spacing holds across batches and threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_at: dict[str, float] = {}
        self._host_delay_s: dict[str, float] = {}  # robots.txt Crawl-delay, when longer than the default

    def reserve_slot(self, host: str, delay_s: float) -> float:
        """Reserve the next request slot for `host`; return seconds to wait before using it."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_at.get(host, 0.0))
            self._next_at[host] = slot + max(delay_s, self._host_delay_s.get(host, 0.0))
            return slot - now

    def set_host_delay(self, host: str, delay_s: float) -> None:
        """Space requests to `host` by at least `delay_s` (capped at MAX_CRAWL_DELAY_S)."""
        with self._lock:
            self._host_delay_s[host] = min(max(0.0, delay_s), MAX_CRAWL_DELAY_S)

    def defer_host(self, host: str, seconds: float) -> None:
        """Push the host's next slot at least `seconds` from now (Retry-After, 429/503)."""
        with self._lock:
            self._next_at[host] = max(self._next_at.get(host, 0.0), time.monotonic() + seconds)

    def clear(self) -> None:
        """Forget every host (tests)."""
        with self._lock:
            self._next_at.clear()
            self._host_delay_s.clear()


HOST_SCHEDULE = HostSchedule()


class HostGate:
    """Bounded concurrency per host and overall, plus the shared minimum delay between requests to a host."""

    def __init__(
        self,
        per_host_connections: int,
        per_host_delay_s: float,
        max_connections: int,
        schedule: HostSchedule = HOST_SCHEDULE,
    ) -> None:
        self.per_host_connections = max(1, per_host_connections)
        self.per_host_delay_s = max(0.0, per_host_delay_s)
        self.schedule = schedule
        self._overall = asyncio.Semaphore(max(1, max_connections))
        self._hosts: dict[str, asyncio.Semaphore] = {}

    def _host_semaphore(self, host: str) -> asyncio.Semaphore:
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.per_host_connections)
        return self._hosts[host]

    @asynccontextmanager
    async def slot(self, host: str, polite: bool = True) -> AsyncIterator[None]:
        """Hold one connection slot for `host`; polite slots also wait for the host's spacing."""
        async with self._host_semaphore(host), self._overall:
            if polite:
                wait_s = self.schedule.reserve_slot(host, self.per_host_delay_s)
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
            yield


def parse_retry_after(value: str | None, now_epoch: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), or None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    now_epoch = time.time() if now_epoch is None else now_epoch
    return max(0.0, when.timestamp() - now_epoch)
