"""The articles stage: extract, clean, canonicalise, hash and tag pages, on all cores for big batches."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from flows.dask_cluster import ClusterUnavailable, close_cluster_clients, run_on_cluster, share_with_cluster
from flows.matchers import build_matcher, get_matcher, load_taxonomy
from transforms.clean import CLEANER_VERSION, clean_text, count_words
from transforms.dates import DateCandidate, DateChoice, choose_dates, make_candidate
from transforms.encodings import decode_html
from transforms.extract import EXTRACTOR_VERSION, extract_page, warm_extractor
from transforms.hashing import hash_content, make_article_id
from transforms.language import choose_language
from transforms.near_dupes import compute_minhash
from transforms.outlets import outlet_of
from transforms.page_bodies import decompress_body
from transforms.records import Article
from transforms.syndication import detect_wire_credit
from transforms.taxonomy import Taxonomy
from transforms.topics import TopicMatcher, tag_article
from transforms.urls import canonicalise_url
from transforms.warc_records import WARC_FEED_PREFIX

_log = logging.getLogger(__name__)

# Below this many pages a batch runs in-process: starting worker processes would cost more than it saves.
POOL_THRESHOLD = 48
# Pages per worker call: small, so that at a batch's end no worker idles long while the other finishes.
CHUNK_SIZE = 4
MIN_WORDS = 20
TRIM_EVERY_CHUNKS = 25  # about 100 pages, ~3 s of a worker's time; a trim costs a few ms
_chunks_built = 0


@dataclass(slots=True)
class PageJob:
    """A fetched page and what its feed entry said about it."""

    url: str
    final_url: str
    body: bytes | None = None  # the raw page; or, smaller in memory and on the way to a worker, compressed
    feed_url: str | None = None
    guid: str | None = None
    entry_title: str | None = None
    entry_published_at: datetime | None = None
    language: str | None = None
    country: str | None = None
    content_type: str | None = None  # the HTTP Content-Type, whose charset decides the decoding
    body_compressed: bytes | None = None  # the raw page compressed with body_codec, when `body` is not given
    body_codec: str | None = None  # see transforms/page_bodies.py; None: zlib (pages stored before 0005)
    fetched_at: datetime | None = None  # when the page was fetched (a WARC record: its crawl time)

    def read_body(self) -> bytes:
        """The raw page bytes."""
        if self.body is not None:
            return self.body
        if self.body_compressed is None:
            return b""
        return decompress_body(self.body_compressed, self.body_codec)


@dataclass(slots=True)
class PageOutcome:
    """An article built from a page, or the reason none could be."""

    url: str
    article: Article | None = None
    reason: str | None = None
    detail: str | None = None


def weigh_dates(job: PageJob, page_dates: list[DateCandidate]) -> DateChoice:
    """Choose published_at among the page's dates, the feed's time and the crawl time (transforms/dates.py);
    a WARC record's pseudo entry carries the crawl time, not a feed's."""
    candidates = list(page_dates)
    from_archive = (job.feed_url or "").startswith(WARC_FEED_PREFIX)
    if job.entry_published_at is not None and not from_archive:
        candidates.append(make_candidate("feed", job.entry_published_at))
    crawled = job.fetched_at or (job.entry_published_at if from_archive else None)
    if crawled is not None:
        candidates.append(make_candidate("crawl", crawled))
    return choose_dates(candidates, crawled)


def build_article(
    job: PageJob, taxonomy_path: str | None = None, matcher: TopicMatcher | None = None
) -> PageOutcome:
    """Turn one fetched page into a tagged Article, or say why it cannot be one (tagged with `matcher`, else
    with the taxonomy file's)."""
    try:
        html = decode_html(job.read_body(), {"content-type": job.content_type} if job.content_type else None)
        page = extract_page(html, job.final_url)
    except Exception as error:  # one bad page must never fail the batch
        return PageOutcome(job.url, reason="extract_error", detail=f"{type(error).__name__}: {error}")
    if page is None:
        return PageOutcome(job.url, reason="empty_extraction", detail="no article body found")
    title = page.title or job.entry_title
    text = clean_text(page.text, title)
    words = count_words(text)
    if words < MIN_WORDS:
        return PageOutcome(job.url, reason="too_short", detail=f"{words} words after cleaning")
    canonical_url = canonicalise_url(job.final_url, page.page_canonical)
    matcher = matcher or get_matcher(taxonomy_path)
    dates = weigh_dates(job, page.date_candidates)
    language = choose_language(text, page.language, job.language)
    article = Article(
        article_id=make_article_id(canonical_url),
        url=job.url,
        final_url=job.final_url,
        canonical_url=canonical_url,
        feed_url=job.feed_url,
        source=outlet_of(canonical_url) or outlet_of(job.final_url),
        title=title,
        byline=page.byline,
        published_at=dates.published_at,
        language=language.language,
        text=text,
        word_count=words,
        content_hash=hash_content(text),
        extractor_version=EXTRACTOR_VERSION,
        cleaner_version=CLEANER_VERSION,
        categories=page.categories,
        # Signed here, in the worker, so that the load only joins bands and compares signatures.
        minhash=compute_minhash(text).astype("<u4").tobytes(),
        wire_credit=detect_wire_credit(text, title),
        published_source=dates.published_source,
        date_candidates=[candidate.as_json() for candidate in dates.candidates],
        modified_at=dates.modified_at,
        language_source=language.source,
        language_confidence=language.confidence,
        declared_language=page.language,
        extractor=page.extractor,
    )
    article.topics = tag_article(matcher, title, text, source_country=job.country)
    return PageOutcome(job.url, article=article)


def build_chunk(
    jobs: list[PageJob], taxonomy_path: str | None, matcher: TopicMatcher | None = None
) -> list[PageOutcome]:
    """Build a chunk of pages in one worker call."""
    outcomes = [build_article(job, taxonomy_path, matcher) for job in jobs]
    global _chunks_built
    _chunks_built += 1
    if _chunks_built % TRIM_EVERY_CHUNKS == 0:
        release_free_memory()
    return outcomes


def build_chunk_with_taxonomy(jobs: list[PageJob], taxonomy: Taxonomy) -> list[PageOutcome]:
    """build_chunk on a machine that may lack the taxonomy file (a Dask worker): the matcher is built from
    `taxonomy` itself, once per version."""
    return build_chunk(jobs, None, build_matcher(taxonomy))


def build_on_cluster(
    jobs: list[PageJob], taxonomy_path: str | None, scheduler: str
) -> list[PageOutcome] | None:
    """build_articles on the Dask cluster at `scheduler`; chunks that fail there are built here; None when the
    cluster cannot be reached (the caller then builds the batch here)."""
    chunks = [jobs[start : start + CHUNK_SIZE] for start in range(0, len(jobs), CHUNK_SIZE)]
    try:
        taxonomy = load_taxonomy(taxonomy_path)  # the file alone (~15 ms a batch), not a matcher
        shared = share_with_cluster(scheduler, f"taxonomy:{taxonomy.version}", taxonomy)
        results = run_on_cluster(scheduler, build_chunk_with_taxonomy, chunks, shared)
    except ClusterUnavailable as error:
        _log.warning("%s: building this batch's articles here", error)
        return None
    outcomes: list[PageOutcome] = []
    for chunk, (built, error) in zip(chunks, results, strict=True):
        if error is not None:
            _log.warning("a chunk failed on the Dask cluster at %s (%s): building it here", scheduler, error)
            built = build_chunk(chunk, taxonomy_path)
        outcomes.extend(built)
    return outcomes


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc only; elsewhere a no-op)."""
    # Parsed pages leave the heap fragmented: a worker grew ~100 MB over 1,600 pages without this, ~60 with.
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


# mallopt parameters (glibc's malloc.h). Page bodies of ~250 kB raise glibc's dynamic mmap threshold, after
# which they come from the heap and leave it fragmented: measured at 3,000 pages, the ingest process held
# 114-275 MB of freed heap it never returned. A fixed 64 kB threshold keeps big buffers in their own mappings
# (returned when freed), and two arenas stop every thread from growing one of its own.
M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8
HEAP_SETTINGS = {M_MMAP_THRESHOLD: 65_536, M_ARENA_MAX: 2}
HEAP_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX")


def tune_heap() -> bool:
    """Set glibc's mmap threshold and arena count for page-sized buffers (not if the user set MALLOC_*)."""
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None or any(name in os.environ for name in HEAP_VARIABLES):
        return False
    return all(mallopt(parameter, value) == 1 for parameter, value in HEAP_SETTINGS.items())


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_server_started = False  # by start_pool_server, maybe before any pool
# The module the pool's fork server imports: it runs prepare_worker_state with the taxonomy named in
# POOL_TAXONOMY_VARIABLE ("" for the default one).
FORK_SERVER_MODULE = "flows.pool_preload"
POOL_TAXONOMY_VARIABLE = "NEWSDESK_POOL_TAXONOMY"


def prepare_worker_state(taxonomy_path: str | None) -> None:
    """Make what every worker needs (the matcher, the extraction libraries' lazy tables) and freeze it."""
    # Run in the fork server: the workers forked from it share these pages instead of building ~110 MB each.
    # Frozen, the collector never writes to their headers, which would copy the pages into every worker.
    tune_heap()
    get_matcher(taxonomy_path)
    warm_extractor()
    gc.collect()
    gc.freeze()


def choose_pool_context(taxonomy_path: str | None) -> multiprocessing.context.BaseContext:
    """The fork server context, its server started with the workers' state made; spawn where there is none."""
    # Not plain fork: forking a process that runs Prefect's threads and event loop can deadlock. The fork
    # server is a fresh single-threaded interpreter, started here, that forks the workers.
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([FORK_SERVER_MODULE])
    saved = os.environ.get(POOL_TAXONOMY_VARIABLE)
    os.environ[POOL_TAXONOMY_VARIABLE] = taxonomy_path or ""
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        if saved is None:
            os.environ.pop(POOL_TAXONOMY_VARIABLE, None)
        else:
            os.environ[POOL_TAXONOMY_VARIABLE] = saved
    return context


def stop_fork_server(unused: bool = False) -> None:
    """Stop the pool's fork server, so that no idle process keeps the workers' state between runs; one that
    forked no worker (`unused`) is terminated rather than waited for, as it may still be making that state."""
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)  # CPython's own (its tests use it); absent elsewhere
    if stop is None:
        return
    pid = getattr(server, "_forkserver_pid", None)
    if unused and pid is not None:
        # The server reads its stop signal only once its preload is done: ~1.7 s for a run with nothing to
        # build. It has no workers yet, so nothing is lost.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    stop()


def start_pool_server(workers: int = 0, taxonomy_path: str | None = None) -> bool:
    """Start the worker pool's fork server, which makes the workers' state (~1.7 s), and return at once;
    True if started (there is a fork server and more than one worker)."""
    global _server_started
    if count_workers(workers) < 2 or "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    tune_heap()
    choose_pool_context(taxonomy_path)  # spawns the server; only a pool's first worker waits for it
    _server_started = True
    return True


def get_pool(workers: int, taxonomy_path: str | None = None) -> Executor:
    """Return the run's worker pool, started on first use and reused across batches."""
    global _pool, _pool_size
    if _pool is None or _pool_size != workers:
        if _pool is not None:
            close_pool()  # a pool of another size, and its fork server
        tune_heap()
        context = choose_pool_context(taxonomy_path)
        _pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=tune_heap)
        _pool_size = workers
    return _pool


def pool_is_running(workers: int) -> bool:
    """Whether a pool of `workers` processes is already started (a batch of any size may then use it)."""
    return _pool is not None and _pool_size == workers


@contextmanager
def lean_main() -> Iterator[None]:
    """Hide the parent's main module while workers spawn, so that they import this module's needs only."""
    # A spawned worker re-imports the parent's __main__ (the CLI, Prefect's engine, a bench script), which
    # brings Prefect: ~50 MB and ~0.8 s more per worker. Without __spec__ and __file__ it imports nothing.
    main = sys.modules["__main__"]
    saved = {key: main.__dict__[key] for key in ("__spec__", "__file__") if key in main.__dict__}
    main.__spec__ = None
    main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        main.__dict__.update(saved)


def submit_job(pool: Executor, function: Callable[..., Any], *args: Any) -> Future:
    """Submit to the pool; a worker it starts for this call spawns without the parent's main module."""
    with lean_main():
        return pool.submit(function, *args)


def close_pool() -> None:
    """Stop the worker pool and its fork server, if started, and let go of any Dask cluster (which keeps
    running)."""
    global _pool, _pool_size, _server_started
    if _pool is not None:
        _pool.shutdown(cancel_futures=True)
    if _pool is not None or _server_started:
        stop_fork_server(unused=_pool is None)
    _pool, _pool_size, _server_started = None, 0, False
    close_cluster_clients()


def count_workers(requested: int) -> int:
    """Resolve 0 to one worker per usable core."""
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def load_worker(taxonomy_path: str | None) -> int:
    """Load the topic matcher in a worker process (its imports came with this module); returns the pid."""
    get_matcher(taxonomy_path)
    return os.getpid()


def warm_pool(pages: int, batch_size: int, taxonomy_path: str | None = None, workers: int = 0) -> bool:
    """Start the worker pool ahead of the first batch when its batches will use it; True if started."""
    workers = count_workers(workers)
    if workers < 2 or min(pages, batch_size) < POOL_THRESHOLD:
        return False
    pool = get_pool(workers, taxonomy_path)
    for _ in range(workers):
        submit_job(pool, load_worker, taxonomy_path)  # not awaited: the first chunks queue behind them
    return True


def build_articles(
    jobs: list[PageJob],
    taxonomy_path: str | None = None,
    workers: int = 0,
    use_pool: bool | None = None,
    scheduler: str | None = None,
) -> list[PageOutcome]:
    """Build articles for a batch of pages, in page order, across worker processes when it pays, or on the
    Dask cluster at `scheduler` (this machine's processes when it cannot be reached)."""
    if scheduler and jobs:
        outcomes = build_on_cluster(jobs, taxonomy_path, scheduler)
        if outcomes is not None:
            return outcomes
    workers = count_workers(workers)
    if use_pool is None:
        # A running pool takes small batches too: this process then never needs the matcher of its own.
        use_pool = workers > 1 and (len(jobs) >= POOL_THRESHOLD or pool_is_running(workers))
    if not use_pool:
        return build_chunk(jobs, taxonomy_path)
    chunks = [jobs[start : start + CHUNK_SIZE] for start in range(0, len(jobs), CHUNK_SIZE)]
    pool = get_pool(workers, taxonomy_path)
    futures = [submit_job(pool, build_chunk, chunk, taxonomy_path) for chunk in chunks]
    return [outcome for future in futures for outcome in future.result()]
