"""The floor: newsdesk's own extraction (transforms.extract.extract_page) of the bench pages on all cores, no I/O.

Each worker builds the same site from the corpus once (outside the clock) and makes its pages in memory, so the
timed part is extraction alone: the pages per second nothing that extracts with these options can beat here.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, wait
from pathlib import Path

from bench.site import CORPUS, Site, build_site
from transforms.extract import extract_page

CHUNK_SIZE = 16
FLOOR_ORIGIN = "http://127.0.0.1"

_site: Site | None = None


def start_worker(pages: int, corpus: str) -> None:
    """Build the bench site once per worker process."""
    global _site
    _site = build_site(pages, FLOOR_ORIGIN, corpus=Path(corpus))


def settle_worker(seconds: float) -> int:
    """Hold a worker briefly so every worker of the pool has started before the clock runs."""
    time.sleep(seconds)
    return 1


def extract_range(start: int, stop: int) -> int:
    """Extract pages start..stop-1; return how many gave a body."""
    assert _site is not None, "worker not started"
    found = 0
    for index in range(start, stop):
        page = extract_page(_site.page_body(index), f"{FLOOR_ORIGIN}{_site.page_path(index)}")
        found += page is not None
    return found


def measure_floor(pages: int, workers: int, corpus: Path = CORPUS) -> dict[str, float]:
    """Time extraction of every bench page on `workers` processes; return pages/s and how many had a body."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=start_worker,
                             initargs=(pages, str(corpus))) as pool:
        wait([pool.submit(settle_worker, 0.3) for _ in range(workers * 2)])
        started = time.perf_counter()
        futures = [pool.submit(extract_range, s, min(s + CHUNK_SIZE, pages)) for s in range(0, pages, CHUNK_SIZE)]
        extracted = sum(future.result() for future in futures)
        seconds = time.perf_counter() - started
    return {"pages": pages, "extracted": extracted, "seconds": seconds, "pages_per_s": pages / seconds}
