"""Response bodies read within a size cap, on the wire and once decoded (gzip, deflate, brotli bombs)."""

from __future__ import annotations

import zlib

import httpx

from flows.http.netguard import GuardError

try:
    import brotli
except ImportError:  # brotli is a declared dependency; without it we simply do not advertise br
    brotli = None

# A response body we do not keep (304, redirect, error page) is still read to its end when it is this small:
# a connection whose last response was not read to the end cannot carry the next request, so without this
# every 304 of a re-poll would cost a new TCP connection.
DRAIN_MAX_BYTES = 65_536


class BodyTooLarge(GuardError):
    """A body past the size cap, on the wire or once decoded."""


class BoundedDecoder:
    """Incremental content decoder that never produces more than the caller allows."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._deflate_raw = False
        self._zlib = self._new_zlib() if encoding in ("gzip", "x-gzip", "deflate") else None
        self._brotli = brotli.Decompressor() if encoding == "br" and brotli is not None else None
        if encoding not in ("", "identity") and self._zlib is None and self._brotli is None:
            raise GuardError("unsupported_encoding", f"unsupported content-encoding {encoding!r}")

    def _new_zlib(self):
        if self.encoding == "deflate":
            return zlib.decompressobj(-zlib.MAX_WBITS if self._deflate_raw else zlib.MAX_WBITS)
        return zlib.decompressobj(zlib.MAX_WBITS | 32)

    def decode(self, data: bytes, max_out: int) -> bytes:
        """Decode one chunk, producing at most `max_out` + 1 bytes (one more signals the limit was hit)."""
        if self._brotli is not None:
            try:
                return self._brotli.process(data, output_buffer_limit=max_out + 1)
            except TypeError:  # older brotli without output limits
                return self._brotli.process(data)
        if self._zlib is None:
            return data
        try:
            out = self._zlib.decompress(data, max_out + 1)
        except zlib.error:
            if self.encoding == "deflate" and not self._deflate_raw:
                # Some servers send raw deflate without the zlib wrapper.
                self._deflate_raw = True
                self._zlib = self._new_zlib()
                return self._zlib.decompress(data, max_out + 1)
            raise
        while self._zlib.eof and self._zlib.unused_data and len(out) <= max_out:
            rest = self._zlib.unused_data  # concatenated gzip members
            self._zlib = self._new_zlib()
            out += self._zlib.decompress(rest, max_out + 1 - len(out))
        return out


async def read_body_bounded(response: httpx.Response, max_body_bytes: int) -> tuple[bytes, int]:
    """Stream and decode a response body, refusing more than `max_body_bytes` on the wire or decoded."""
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_body_bytes:
        raise BodyTooLarge("too_large", f"declared content-length {declared} exceeds {max_body_bytes} bytes")
    encoding = response.headers.get("content-encoding", "").strip().lower()
    decoder = BoundedDecoder(encoding)
    body = bytearray()
    wire_bytes = 0
    async for chunk in response.aiter_raw():
        wire_bytes += len(chunk)
        if wire_bytes > max_body_bytes:
            raise BodyTooLarge("too_large", f"body exceeds {max_body_bytes} bytes")
        body += decoder.decode(chunk, max_body_bytes - len(body))
        if len(body) > max_body_bytes:
            raise BodyTooLarge(
                "decompression_bomb",
                f"{encoding} body of {wire_bytes} bytes decodes past {max_body_bytes} bytes",
            )
    return bytes(body), wire_bytes


async def drain_body(response: httpx.Response, max_bytes: int) -> None:
    """Read an unwanted body to its end (so the connection can be reused), unless it runs past `max_bytes`."""
    if response.is_stream_consumed or response.is_closed:
        return  # already read (a mirrored file's response carries its body): nothing to drain
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        return
    received = 0
    try:
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > max_bytes:
                return  # the connection is closed rather than reused; reading on would cost more
    except (httpx.TransportError, httpx.StreamError):
        return  # the answer (status, headers) stands; only the connection is lost
