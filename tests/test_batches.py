"""Batch helpers of the ingest flow: the packed page bodies kept until a batch is loaded."""

from __future__ import annotations

import tracemalloc

from flows.stages.batches import pack_body
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
        before = tracemalloc.take_snapshot()
        packed = pack_body(page)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    # Only what packing allocated: other threads of the test session (Prefect's, say) allocate meanwhile.
    ours = [
        tracemalloc.Filter(True, "*/transforms/page_bodies.py"),
        tracemalloc.Filter(True, "*/flows/stages/batches.py"),
    ]
    held = sum(
        stat.size_diff
        for stat in after.filter_traces(ours).compare_to(before.filter_traces(ours), "filename")
    )
    assert len(packed.body_compressed) <= held < len(packed.body_compressed) + 4_096
    assert held < len(page) // 4
