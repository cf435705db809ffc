"""Connections per origin, each in a pool of its own.

httpx's pool looks over all its connections for every request it assigns, and over them again for each one
it checks (each check asks the socket whether it is still open), and it holds at most `max_connections`
connections in all: a batch over more hosts than that closed a connection and opened a new one for nearly
every request. Here each origin (scheme, host, port) has `per_host_connections` slots, each a pool of one
connection: a request goes to a slot with nothing in flight, so httpx's look-over is one connection long
(figures in docs/fetching.md). The connections to a host are kept alive between its spaced requests, and
the slots of origins not in use are closed past KEPT_ORIGINS, the least recently used first. The overall
limit on requests in flight stays with the politeness gate, which lets at most `per_host_connections`
requests to a host out at once.
"""

from __future__ import annotations

import ssl
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable

import httpx

# Origins whose idle connections are kept: a few hundred sites polled in turn (a scale bench shard holds
# 250), each with at most per_host_connections idle sockets.
KEPT_ORIGINS = 512

Origin = tuple[bytes, bytes, int | None]


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that tells its pool's owner when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._release is not None:
                release, self._release = self._release, None
                release()


class OriginPools(httpx.AsyncBaseTransport):
    """Route each request to a free one-connection slot of its origin; close idle origins past
    KEPT_ORIGINS."""

    def __init__(self, per_host_connections: int, ssl_context: ssl.SSLContext) -> None:
        self.per_host_connections = max(1, per_host_connections)
        self.ssl_context = ssl_context
        self._slots: OrderedDict[Origin, list[httpx.AsyncHTTPTransport]] = OrderedDict()
        self._in_flight: Counter[tuple[Origin, int]] = Counter()

    def _slots_for(self, origin: Origin) -> list[httpx.AsyncHTTPTransport]:
        """The origin's slots, made on first use and marked most recently used."""
        slots = self._slots.get(origin)
        if slots is None:
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            slots = [
                httpx.AsyncHTTPTransport(verify=self.ssl_context, limits=limits, retries=0)
                for _ in range(self.per_host_connections)
            ]
            self._slots[origin] = slots
        else:
            self._slots.move_to_end(origin)
        return slots

    def _choose_slot(self, origin: Origin, count: int) -> int:
        """The first slot with the fewest requests in flight (the first ones keep their connections warm)."""
        return min(range(count), key=lambda slot: self._in_flight[origin, slot])

    def _is_idle(self, origin: Origin) -> bool:
        """Tell whether none of the origin's slots has a request in flight."""
        return not any(self._in_flight[origin, slot] for slot in range(len(self._slots[origin])))

    async def _close_unused(self) -> None:
        """Close the least recently used origins' slots with nothing in flight, down to KEPT_ORIGINS."""
        surplus = len(self._slots) - KEPT_ORIGINS
        for origin in list(self._slots):
            if surplus <= 0:
                return
            if self._is_idle(origin):
                for slot, transport in enumerate(self._slots.pop(origin)):
                    await transport.aclose()
                    self._in_flight.pop((origin, slot), None)
                surplus -= 1

    def _released(self, key: tuple[Origin, int]) -> Callable[[], None]:
        def release() -> None:
            self._in_flight[key] -= 1

        return release

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request through a free slot of its origin."""
        origin = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        slots = self._slots_for(origin)
        key = (origin, self._choose_slot(origin, len(slots)))
        self._in_flight[key] += 1
        release = self._released(key)
        try:
            if len(self._slots) > KEPT_ORIGINS:
                await self._close_unused()
            response = await slots[key[1]].handle_async_request(request)
        except BaseException:
            release()
            raise
        stream = _ReleasingStream(response.stream, release)  # type: ignore[arg-type]
        return httpx.Response(
            response.status_code, headers=response.headers, stream=stream, extensions=response.extensions
        )

    async def aclose(self) -> None:
        """Close every slot."""
        origins, self._slots = list(self._slots.values()), OrderedDict()
        for slots in origins:
            for transport in slots:
                await transport.aclose()
