"""A fault-injecting HTTP server on 127.0.0.1 for tests and benchmarks.

Routes map a path to a `Reply` or to a callable `(RequestInfo) -> Reply`. A reply can delay, drip its body
slowly, stream a huge body without holding it in memory, or carry any status and headers. Every request is
logged so tests can assert what the client sent (validators, User-Agent, hit counts).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class RequestInfo:
    """What the server saw of one request."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    at: float
    body_bytes_sent: int = 0  # body bytes written to the socket before the reply ended or the client left
    answered: threading.Event = field(default_factory=threading.Event)  # set once the handler is done


@dataclass
class Reply:
    """One response: status, headers and a body given as bytes or as an iterable of chunks."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = b""
    chunks: Iterable[bytes] | None = None  # streamed without Content-Length, connection closed after
    delay_s: float = 0.0  # before the status line
    chunk_delay_s: float = 0.0  # between chunks (a slow drip)


Handler = Reply | Callable[[RequestInfo], Reply]


class FaultServer:
    """Threaded loopback server; use as a context manager, then `url(path)`. Another loopback address
    (127.0.0.2, ...) makes a second host, with its own politeness schedule."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, Handler] = {}
        self.requests: list[RequestInfo] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="faultserver", daemon=True)

    @property
    def port(self) -> int:
        """The bound port."""
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        """Absolute URL for `path` on this server."""
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> str:
        """Register a handler for an exact path (query ignored) and return its URL."""
        self.routes[path] = handler
        return self.url(path)

    def hits(self, path: str) -> list[RequestInfo]:
        """Requests received for `path`."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                server._serve(self)

            def do_HEAD(self) -> None:  # noqa: N802
                server._serve(self)

        return _Handler

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        info = RequestInfo(
            handler.command, path, {k.lower(): v for k, v in handler.headers.items()}, time.monotonic()
        )
        with self._lock:
            self.requests.append(info)
        route = self.routes.get(path)
        reply = (
            Reply(404, {"content-type": "text/plain"}, b"no such route")
            if route is None
            else (route(info) if callable(route) else route)
        )
        try:
            self._write(handler, reply, info)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            handler.close_connection = True
        finally:
            info.answered.set()

    def _write(self, handler: BaseHTTPRequestHandler, reply: Reply, info: RequestInfo) -> None:
        if reply.delay_s and self.stopping.wait(reply.delay_s):
            return
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.chunks is None:
            body = reply.body or b""
            handler.send_header("content-length", str(len(body)))
            handler.end_headers()
            if handler.command != "HEAD" and body:
                handler.wfile.write(body)
                info.body_bytes_sent = len(body)
            return
        handler.send_header("connection", "close")
        handler.end_headers()
        handler.close_connection = True
        for chunk in reply.chunks:
            if self.stopping.is_set():
                return
            handler.wfile.write(chunk)
            handler.wfile.flush()
            info.body_bytes_sent += len(chunk)
            if reply.chunk_delay_s and self.stopping.wait(reply.chunk_delay_s):
                return


def conditional(
    body: bytes,
    content_type: str = "application/rss+xml",
    etag: str | None = "auto",
    last_modified: float | None = None,
) -> Callable[[RequestInfo], Reply]:
    """A handler that answers 304 when the request's If-None-Match / If-Modified-Since match."""
    tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"' if etag == "auto" else etag

    def handle(info: RequestInfo) -> Reply:
        headers = {"content-type": content_type}
        if tag:
            headers["etag"] = tag
        if last_modified is not None:
            headers["last-modified"] = formatdate(last_modified, usegmt=True)
        if tag and info.headers.get("if-none-match") == tag:
            return Reply(304, headers, b"")
        since = info.headers.get("if-modified-since")
        if (
            tag is None
            and last_modified is not None
            and since
            and parsedate_to_datetime(since).timestamp() >= int(last_modified)
        ):
            return Reply(304, headers, b"")
        return Reply(200, headers, body)

    return handle


def sequence(*replies: Reply) -> Callable[[RequestInfo], Reply]:
    """A handler that gives each reply in turn, then repeats the last one."""
    lock = threading.Lock()
    count = [0]

    def handle(_info: RequestInfo) -> Reply:
        with lock:
            index = min(count[0], len(replies) - 1)
            count[0] += 1
        return replies[index]

    return handle


def zeros(total_bytes: int, chunk_bytes: int = 64 * 1024) -> Iterator[bytes]:
    """Stream `total_bytes` zero bytes in chunks (a huge body that the server never holds)."""
    block = b"\0" * chunk_bytes
    sent = 0
    while sent < total_bytes:
        piece = block[: min(chunk_bytes, total_bytes - sent)]
        sent += len(piece)
        yield piece


def gzip_bomb(decoded_bytes: int) -> bytes:
    """A small gzip document that decodes to `decoded_bytes` zero bytes."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as handle:
        block = b"\0" * (1 << 20)
        for _ in range(decoded_bytes // len(block)):
            handle.write(block)
    return out.getvalue()


def deflate(data: bytes) -> bytes:
    """zlib-wrapped deflate of `data`."""
    return zlib.compress(data)
