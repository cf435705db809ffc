"""A leaner network stream under httpx's connection pool, where the fetcher's per-request CPU was spent.

httpcore's pool asks every idle connection, each time a request comes or goes, whether its socket turned
readable (a server hang-up); through anyio each answer rebuilds a table of attribute getters. This stream
keeps the socket at hand instead, and reads up to 256 kB at a time (asyncio's own read size) rather than
64 kB, so a 250 kB page takes one or two trips through anyio's timeout scopes instead of four or five.
Together about a fifth of the fetcher's CPU per page on the bench site.
"""

from __future__ import annotations

import select
import socket
import ssl
import typing

import httpcore
import httpx

READ_BYTES = 262_144


def is_socket_readable(sock: socket.socket | None) -> bool:
    """True when reading `sock` would not block (data, or the peer's hang-up); a closed socket counts too."""
    if sock is None or sock.fileno() < 0:
        return True
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class LeanStream(httpcore.AsyncNetworkStream):
    """Wrap httpcore's anyio stream: cached socket for readability checks, bigger reads."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read what has arrived, up to READ_BYTES (h11 takes data of any length)."""
        return await self._stream.read(max(max_bytes, READ_BYTES), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Send all of `buffer`."""
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        """Close the connection."""
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Upgrade to TLS; the TLS stream is wrapped in turn."""
        return LeanStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        """As httpcore's stream answers, with `is_readable` from the socket kept at hand."""
        if info == "is_readable":
            return is_socket_readable(self._socket)
        return self._stream.get_extra_info(info)


class LeanBackend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend, its streams wrapped in LeanStream."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Open a TCP connection."""
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return LeanStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Open a Unix socket connection."""
        return LeanStream(await self._backend.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        """Sleep on the running event loop."""
        await self._backend.sleep(seconds)


def make_lean_transport(ssl_context: ssl.SSLContext, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connection pool runs on LeanBackend (the default pool if httpx changed)."""
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits, retries=0)
    if isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool):
        # The same pool httpx builds for these arguments (no proxy, HTTP/1.1), with the leaner streams.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=LeanBackend(),
        )
    return transport
