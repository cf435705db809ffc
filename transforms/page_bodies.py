"""Raw page bodies as kept: compressed for the warehouse and the trip to a worker, and read back by codec."""

from __future__ import annotations

import threading
import zlib

import zstandard

ZSTD = "zstd"
ZLIB = "zlib"  # the codec of every page stored before migration 0005
CODECS = (ZSTD, ZLIB)
# Level 3 (zstd's default): 0.7 ms for a 250 kB page and 19 % of its size, against zlib level 1's 1.8 ms and
# 23 %; it decompresses in a third of zlib's time too (measured on the bench site's pages).
ZSTD_LEVEL = 3

_local = threading.local()  # zstd contexts are not safe to share between threads; each thread keeps its own


class BodyCodecError(ValueError):
    """A stored body names a codec this version cannot read, or its bytes do not decode."""


def _compressor() -> zstandard.ZstdCompressor:
    compressor = getattr(_local, "compressor", None)
    if compressor is None:
        compressor = _local.compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return compressor


def _decompressor() -> zstandard.ZstdDecompressor:
    decompressor = getattr(_local, "decompressor", None)
    if decompressor is None:
        decompressor = _local.decompressor = zstandard.ZstdDecompressor()
    return decompressor


def compress_body(body: bytes) -> bytes:
    """Compress a raw page body with the current codec (ZSTD), in bytes of the compressed size."""
    # zstandard returns its output in a buffer of the worst-case size (about the raw size: ~250 kB for a
    # ~45 kB result) and never shrinks it; a body kept for long (a batch in flight) came to hold all of it
    # once the C heap reused that memory: ~12 KB more per page of an ingest run. A copy of the exact size
    # costs a few microseconds.
    return bytes(memoryview(_compressor().compress(body)))


def decompress_body(data: bytes, codec: str | None) -> bytes:
    """The raw bytes of a body compressed with `codec` (None: zlib, as stored before codecs were recorded)."""
    codec = codec or ZLIB
    try:
        if codec == ZSTD:
            return _decompressor().decompress(data)
        if codec == ZLIB:
            return zlib.decompress(data)
    except (zstandard.ZstdError, zlib.error) as error:
        raise BodyCodecError(f"{codec} body of {len(data)} bytes does not decode: {error}") from error
    raise BodyCodecError(f"unknown body codec {codec!r} (known: {', '.join(CODECS)})")
