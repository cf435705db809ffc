"""Per-host politeness shared by everything that fetches: concurrency limit, minimum spacing, Retry-After."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

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
    """Process-wide per-host timing, so spacing holds across batches and threads: each host's next reserved
    slot (the order requests wait in), when its next request may be sent (measured from the end of the last
    send, not from its slot: a request that ran late would otherwise land close to the next one), and
    Retry-After holds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_at: dict[str, float] = {}  # next slot to reserve
        self._send_after: dict[str, float] = {}  # the last send's end plus the delay
        self._sending: dict[str, object] = {}  # the turn whose request is being written now
        self._host_delay_s: dict[str, float] = {}  # robots.txt Crawl-delay, when longer than the default
        self._deferred: dict[str, tuple[float, datetime]] = {}  # Retry-After: until when (monotonic, UTC)

    def delay_of(self, host: str, delay_s: float) -> float:
        """The spacing for `host`: `delay_s`, or its robots.txt Crawl-delay when longer."""
        return max(delay_s, self._host_delay_s.get(host, 0.0))

    def _check_deferred(self, host: str, now: float, max_wait_s: float) -> None:
        """Raise HostDeferred when a Retry-After holds `host` for more than `max_wait_s` from `now`."""
        until, retry_at = self._deferred.get(host, (0.0, None))
        if retry_at is not None and until - now > max_wait_s:
            raise HostDeferred(host, retry_at)

    def reserve_slot(self, host: str, delay_s: float, max_wait_s: float = math.inf) -> float:
        """Reserve the next request slot for `host`; return seconds to wait before using it. Raise
        HostDeferred, reserving nothing, when a Retry-After holds the host for more than `max_wait_s`."""
        with self._lock:
            now = time.monotonic()
            self._check_deferred(host, now, max_wait_s)
            slot = max(now, self._next_at.get(host, 0.0), self._send_after.get(host, 0.0))
            self._next_at[host] = slot + self.delay_of(host, delay_s)
            return slot - now

    def take_turn(self, host: str, turn: object, max_wait_s: float = math.inf) -> float:
        """Let `turn` send to `host` now (0.0), or return seconds to wait before asking again: another
        request to the host is being written, or the last one ended less than the delay ago. Raise
        HostDeferred when a Retry-After that came after the request's slot holds the host too long."""
        with self._lock:
            now = time.monotonic()
            self._check_deferred(host, now, max_wait_s)
            if self._sending.get(host, turn) is not turn:
                return 0.001
            wait_s = self._send_after.get(host, 0.0) - now
            if wait_s > 0:
                return wait_s
            self._sending[host] = turn
            return 0.0

    def end_turn(self, host: str, turn: object, delay_s: float) -> None:
        """`turn`'s request is written (or failed): the host's next request waits the delay from now."""
        with self._lock:
            if self._sending.get(host) is turn:
                del self._sending[host]
            after = time.monotonic() + self.delay_of(host, delay_s)
            self._send_after[host] = max(self._send_after.get(host, 0.0), after)

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
            self._send_after[host] = max(self._send_after.get(host, 0.0), until)
            return retry_at

    def clear(self) -> None:
        """Forget every host (tests)."""
        with self._lock:
            self._next_at.clear()
            self._send_after.clear()
            self._sending.clear()
            self._host_delay_s.clear()
            self._deferred.clear()


HOST_SCHEDULE = HostSchedule()


class SendTurn:
    """One request's turn at its host: taken just before its headers are written and given back once they are
    (httpx's public `trace` request extension reports both), so that the gap between two requests' sends to a
    host is never below the delay, however late either ran after its slot."""

    def __init__(self, schedule: HostSchedule, host: str, delay_s: float, max_wait_s: float) -> None:
        self.schedule, self.host, self.delay_s, self.max_wait_s = schedule, host, delay_s, max_wait_s
        self.held = False

    @property
    def extensions(self) -> dict[str, Any]:
        """The request extensions that make httpx report this request's send."""
        return {"trace": self.trace}

    async def trace(self, event: str, _info: dict[str, Any]) -> None:
        """httpcore's trace callback: take the turn as the headers start, give it back once they are sent."""
        if event.endswith("send_request_headers.started"):
            await self.take()
        elif event.endswith(("send_request_headers.complete", "send_request_headers.failed")):
            self.release()

    async def take(self) -> None:
        """Wait until this request may be written to the host."""
        while (wait_s := self.schedule.take_turn(self.host, self, self.max_wait_s)) > 0:
            await asyncio.sleep(wait_s)
        self.held = True

    def release(self) -> None:
        """End the turn (no-op when not held): the host's next send waits the delay from now."""
        if self.held:
            self.held = False
            self.schedule.end_turn(self.host, self, self.delay_s)


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
    async def slot(self, host: str, polite: bool = True) -> AsyncIterator[dict[str, Any]]:
        """Hold one connection slot for `host` and yield the request extensions to send with; polite slots
        first wait for the host's spacing, and their request's send takes the host's turn (SendTurn). The
        overall limit is taken after the wait, so requests waiting for their host do not hold it."""
        async with self._host_semaphore(host):
            turn = None
            if polite:
                wait_s = self.schedule.reserve_slot(host, self.per_host_delay_s, self.max_wait_s)
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
                if self.schedule.delay_of(host, self.per_host_delay_s) > 0:
                    turn = SendTurn(self.schedule, host, self.per_host_delay_s, self.max_wait_s)
            async with self._overall:
                try:
                    yield turn.extensions if turn is not None else {}
                finally:
                    if turn is not None:
                        turn.release()
