"""Batch helpers of the ingest flow: the packed page bodies kept until a batch is loaded."""

from __future__ import annotations

import tracemalloc

from flows.batches import pack_body
from transforms.page_bodies import decompress_body


def make_page(repeats: int = 4_000) -> bytes:
    """A compressible page of ~250 kB, like the bench site's."""
    return b"".join(b"<p>Paragraph %d of the Aleppo report.</p>\n" % number for number in range(repeats))


def test_packed_body_round_trips() -> None:
    page = make_page()
    packed = pack_body(page)
    assert decompress_body(packed.body_compressed, packed.body_codec) == page
    assert packed.body_bytes == len(page)
    assert len(packed.body_compressed) < len(page) // 4


def test_packed_body_holds_only_its_compressed_size() -> None:
    # The compressor's output buffer is sized for the worst case (about the raw size); a kept body must not
    # hold it, or every page in flight costs its raw size in the C heap.
    page = make_page()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        packed = pack_body(page)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < len(packed.body_compressed) + 4_096
    assert held < len(page) // 4
