"""Raw page bodies: compressed with zstd, and read back by the codec each stored row names."""

from __future__ import annotations

import threading
import zlib
from pathlib import Path

import pytest

from transforms.page_bodies import ZLIB, ZSTD, BodyCodecError, compress_body, decompress_body

SEED_PAGES = sorted((Path(__file__).resolve().parent.parent / "seeds" / "site").rglob("*.html"))


@pytest.fixture(scope="module")
def page() -> bytes:
    return SEED_PAGES[0].read_bytes()


def test_zstd_round_trip_is_smaller_than_the_page(page):
    packed = compress_body(page)
    assert packed != page and len(packed) < len(page) / 2
    assert decompress_body(packed, ZSTD) == page


def test_pages_stored_with_zlib_still_read(page):
    assert decompress_body(zlib.compress(page, 1), ZLIB) == page
    assert decompress_body(zlib.compress(page, 6), None) == page  # no codec recorded: the old zlib rows


def test_empty_body_round_trips():
    assert decompress_body(compress_body(b""), ZSTD) == b""


def test_unknown_codec_is_named_in_the_error(page):
    with pytest.raises(BodyCodecError, match="unknown body codec 'lz4'"):
        decompress_body(compress_body(page), "lz4")


def test_bytes_of_another_codec_are_a_clear_error(page):
    with pytest.raises(BodyCodecError, match="zlib body of .* bytes does not decode"):
        decompress_body(compress_body(page), ZLIB)
    with pytest.raises(BodyCodecError, match="zstd body"):
        decompress_body(zlib.compress(page), ZSTD)


def test_threads_compress_at_once_without_mixing_bodies():
    pages = [path.read_bytes() for path in SEED_PAGES[:8]]
    results: dict[int, bytes] = {}

    def work(index: int) -> None:
        for _ in range(20):
            results[index] = decompress_body(compress_body(pages[index]), ZSTD)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(pages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(len(pages))] == pages
