"""One small connection pool per origin, instead of one pool for every host.

httpx's pool looks over all its connections for every request it assigns, and over them again for each one
it checks (its cost grows with the square of the pool), and it holds at most `max_connections` connections in
all: a batch over more hosts than that closed a connection and opened a new one for nearly every request. Each
origin (scheme, host, port) has its own pool of `per_host_connections`, the few connections to a host are kept
alive between its spaced requests, and pools of origins not in use are closed past KEPT_ORIGINS, the least
recently used first. The overall limit on requests in flight stays with the politeness gate.
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
    """Route each request to its origin's own small pool; close idle pools past KEPT_ORIGINS."""

    def __init__(self, per_host_connections: int, ssl_context: ssl.SSLContext) -> None:
        self.per_host_connections = max(1, per_host_connections)
        self.ssl_context = ssl_context
        self._pools: OrderedDict[Origin, httpx.AsyncHTTPTransport] = OrderedDict()
        self._in_flight: Counter[Origin] = Counter()

    def _pool_for(self, origin: Origin) -> httpx.AsyncHTTPTransport:
        """The origin's pool, made on first use and marked most recently used."""
        pool = self._pools.get(origin)
        if pool is None:
            size = self.per_host_connections
            limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
            pool = httpx.AsyncHTTPTransport(verify=self.ssl_context, limits=limits, retries=0)
            self._pools[origin] = pool
        else:
            self._pools.move_to_end(origin)
        return pool

    async def _close_unused(self) -> None:
        """Close the least recently used pools with nothing in flight, down to KEPT_ORIGINS."""
        surplus = len(self._pools) - KEPT_ORIGINS
        for origin in list(self._pools):
            if surplus <= 0:
                return
            if not self._in_flight[origin]:
                await self._pools.pop(origin).aclose()
                del self._in_flight[origin]
                surplus -= 1

    def _released(self, origin: Origin) -> Callable[[], None]:
        def release() -> None:
            self._in_flight[origin] -= 1

        return release

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request through its origin's pool."""
        origin = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        pool = self._pool_for(origin)
        self._in_flight[origin] += 1
        release = self._released(origin)
        try:
            if len(self._pools) > KEPT_ORIGINS:
                await self._close_unused()
            response = await pool.handle_async_request(request)
        except BaseException:
            release()
            raise
        stream = _ReleasingStream(response.stream, release)  # type: ignore[arg-type]
        return httpx.Response(
            response.status_code, headers=response.headers, stream=stream, extensions=response.extensions
        )

    async def aclose(self) -> None:
        """Close every pool."""
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()
