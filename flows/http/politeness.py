"""Per-host politeness shared by everything that fetches: concurrency limit, minimum spacing, Retry-After."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from flows.http.netguard import GuardError

MAX_CRAWL_DELAY_S = 30.0  # a larger robots.txt Crawl-delay is cut here, or one host could stall a whole run
MAX_RETRY_AFTER_S = 86_400.0  # a longer Retry-After is taken as a day


class HostDeferred(GuardError):
    """The host asked (Retry-After) to be left alone for longer than a run waits: ask again at `retry_at`."""

    def __init__(self, host: str, retry_at: datetime) -> None:
        super().__init__(
            "deferred", f"{host} asked to wait until {retry_at:%Y-%m-%d %H:%M:%S} UTC (Retry-After)"
        )
        self.retry_at = retry_at


class HostSchedule:
    """Process-wide earliest-next-request time per host, so spacing holds across batches and threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_at: dict[str, float] = {}
        self._host_delay_s: dict[str, float] = {}  # robots.txt Crawl-delay, when longer than the default
        self._deferred: dict[str, tuple[float, datetime]] = {}  # Retry-After: until when (monotonic, UTC)

    def reserve_slot(self, host: str, delay_s: float, max_wait_s: float = math.inf) -> float:
        """Reserve the next request slot for `host`; return seconds to wait before using it. Raise
        HostDeferred, reserving nothing, when a Retry-After holds the host for more than `max_wait_s`."""
        with self._lock:
            now = time.monotonic()
            until, retry_at = self._deferred.get(host, (0.0, None))
            if retry_at is not None and until - now > max_wait_s:
                raise HostDeferred(host, retry_at)
            slot = max(now, self._next_at.get(host, 0.0))
            self._next_at[host] = slot + max(delay_s, self._host_delay_s.get(host, 0.0))
            return slot - now

    def set_host_delay(self, host: str, delay_s: float) -> None:
        """Space requests to `host` by at least `delay_s` (capped at MAX_CRAWL_DELAY_S)."""
        with self._lock:
            self._host_delay_s[host] = min(max(0.0, delay_s), MAX_CRAWL_DELAY_S)

    def defer_host(self, host: str, seconds: float) -> datetime:
        """Push the host's next slot at least `seconds` (at most MAX_RETRY_AFTER_S) from now (Retry-After,
        429/503); return when the host may be asked again (UTC)."""
        with self._lock:
            now = time.monotonic()
            seconds = min(max(0.0, seconds), MAX_RETRY_AFTER_S)
            until, retry_at = self._deferred.get(host, (0.0, None))
            if retry_at is None or now + seconds > until:
                until, retry_at = now + seconds, datetime.now(UTC) + timedelta(seconds=seconds)
                self._deferred[host] = (until, retry_at)
            self._next_at[host] = max(self._next_at.get(host, 0.0), until)
            return retry_at

    def clear(self) -> None:
        """Forget every host (tests)."""
        with self._lock:
            self._next_at.clear()
            self._host_delay_s.clear()
            self._deferred.clear()


HOST_SCHEDULE = HostSchedule()


class HostGate:
    """Bounded concurrency per host and overall, plus the shared minimum delay between requests to a host;
    a host that Retry-After holds for more than `max_wait_s` is not waited for (HostDeferred)."""

    def __init__(
        self,
        per_host_connections: int,
        per_host_delay_s: float,
        max_connections: int,
        schedule: HostSchedule = HOST_SCHEDULE,
        max_wait_s: float = math.inf,
    ) -> None:
        self.per_host_connections = max(1, per_host_connections)
        self.per_host_delay_s = max(0.0, per_host_delay_s)
        self.max_wait_s = max_wait_s
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
                wait_s = self.schedule.reserve_slot(host, self.per_host_delay_s, self.max_wait_s)
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
            yield
