"""Many loopback hosts served by one selector loop, each request's arrival timed by the kernel.

The scale bench plays hundreds of sites on one machine whose cores the workers under test need. A threaded
`http.server` per host costs a thread per connection and times a request when its handler thread gets the
GIL, which on a busy machine is late and uneven (the gaps it saw between two requests could be shorter than
the client's by tens of milliseconds). Here one thread answers every host from memory, and the arrival of a
request is the kernel's receive timestamp of its first bytes (SO_TIMESTAMPNS; on loopback that is taken while
the client's send runs), however late the loop reads it. Times are wall-clock seconds (CLOCK_REALTIME).
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus

from bench.site import Site, answer_get

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; SCM_TIMESTAMPNS has the same number
TIMESTAMP_SPACE = socket.CMSG_SPACE(16)  # struct timespec
MAX_HEAD_BYTES = 65_536
BACKLOG = 1024  # hundreds of simultaneous connects from the workers must not wait for a SYN retry


@dataclass
class HostSite:
    """One loopback host's listening socket and the site it serves."""

    listener: socket.socket
    site: Site = field(default_factory=Site)
    statuses: Counter[int] = field(default_factory=Counter)
    connections: int = 0  # accepted so far

    @property
    def host(self) -> str:
        """The host's loopback address."""
        return self.listener.getsockname()[0]

    @property
    def origin(self) -> str:
        """The host's base URL."""
        address, port = self.listener.getsockname()[:2]
        return f"http://{address}:{port}"

    def publish(self, site: Site) -> None:
        """Serve `site` from now on."""
        self.site = site


@dataclass
class Connection:
    """One accepted connection: what it has read of the next request, when that began, what is left to send."""

    sock: socket.socket
    served: HostSite
    pending: bytes = b""
    arrived_at: float | None = None
    outgoing: bytearray = field(default_factory=bytearray)
    closing: bool = False
    writing: bool = False  # registered for EVENT_WRITE too


def kernel_time(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    """The receive timestamp among a recvmsg's ancillary data (seconds), or None."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return seconds + nanoseconds / 1e9
    return None


def parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    """A request head's method, target and headers (lower-case names)."""
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = (lines[0].split(" ") + ["", "", ""])[:3]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, target, headers


def render_response(status: int, body: bytes, headers: dict[str, str], send_body: bool) -> bytes:
    """An HTTP/1.1 response with a Content-Length, so the connection can be reused."""
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body if send_body else b"")


class HostSites:
    """Loopback hosts answered by one selector thread; `arrivals` holds each host's request arrival times."""

    def __init__(self, hosts: list[str]) -> None:
        self.selector = selectors.DefaultSelector()
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.sites = [self.listen(host) for host in hosts]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.serve, name="host-sites", daemon=True)

    def listen(self, host: str) -> HostSite:
        """Open a timestamping listener on `host` (accepted sockets inherit the option)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        listener.bind((host, 0))
        listener.listen(BACKLOG)
        listener.setblocking(False)
        served = HostSite(listener)
        self.selector.register(listener, selectors.EVENT_READ, served)
        return served

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close every socket."""
        self._stop.set()
        self._thread.join(timeout=30)
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self.selector.close()

    def serve(self) -> None:
        """The loop: accept, read, answer, until stopped."""
        while not self._stop.is_set():
            for key, events in self.selector.select(timeout=0.2):
                if isinstance(key.data, HostSite):
                    self.accept(key.data)
                elif events & selectors.EVENT_READ:
                    self.read(key.data)
                else:
                    self.flush(key.data)

    def accept(self, served: HostSite) -> None:
        """Take every waiting connection of a host."""
        while True:
            try:
                sock, _ = served.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            served.connections += 1
            self.selector.register(sock, selectors.EVENT_READ, Connection(sock, served))

    def read(self, connection: Connection) -> None:
        """Read what arrived, note when each request began, answer every complete request."""
        try:
            data, ancillary, _flags, _ = connection.sock.recvmsg(MAX_HEAD_BYTES, TIMESTAMP_SPACE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancillary = b"", []
        if not data:
            self.close(connection)
            return
        if not connection.pending:
            connection.arrived_at = kernel_time(ancillary) or time.time()
        connection.pending += data
        while b"\r\n\r\n" in connection.pending:
            head, connection.pending = connection.pending.split(b"\r\n\r\n", 1)
            self.answer(connection, head)
            connection.arrived_at = time.time() if connection.pending else None
        if len(connection.pending) > MAX_HEAD_BYTES:
            self.close(connection)
            return
        self.flush(connection)

    def answer(self, connection: Connection, head: bytes) -> None:
        """Queue the response to one request and note its arrival."""
        method, target, headers = parse_head(head)
        served = connection.served
        self.arrivals[served.host].append(connection.arrived_at or time.time())
        if method in ("GET", "HEAD"):
            status, body, reply_headers = answer_get(served.site, target, headers)
        else:
            status, body, reply_headers = 405, b"", {}
        served.statuses[status] += 1
        connection.outgoing += render_response(status, body, reply_headers, method == "GET")
        connection.closing = connection.closing or headers.get("connection", "").lower() == "close"

    def flush(self, connection: Connection) -> None:
        """Send what the socket takes now; wait for it to be writable for the rest."""
        try:
            sent = connection.sock.send(connection.outgoing) if connection.outgoing else 0
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self.close(connection)
            return
        del connection.outgoing[:sent]
        if not connection.outgoing and connection.closing:
            self.close(connection)
            return
        if bool(connection.outgoing) != connection.writing:
            connection.writing = bool(connection.outgoing)
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if connection.writing else 0)
            self.selector.modify(connection.sock, events, connection)

    def close(self, connection: Connection) -> None:
        """Forget a connection."""
        self.selector.unregister(connection.sock)
        connection.sock.close()


@contextmanager
def serving_host_sites(hosts: list[str]) -> Iterator[HostSites]:
    """Serve `hosts` (each its own loopback address, any free port) for the block."""
    sites = HostSites(hosts)
    sites.start()
    try:
        yield sites
    finally:
        sites.stop()
