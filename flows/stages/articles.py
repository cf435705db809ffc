"""The articles stage: extract, clean, canonicalise, hash and tag pages, on all cores for big batches."""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from flows.stages.matchers import get_matcher
from transforms.clean import CLEANER_VERSION, clean_text, count_words
from transforms.dates import DateCandidate, DateChoice, choose_dates, make_candidate
from transforms.encodings import decode_html
from transforms.extract import EXTRACTOR_VERSION, extract_page
from transforms.hashing import hash_content, make_article_id
from transforms.language import choose_language
from transforms.near_dupes import compute_minhash
from transforms.outlets import outlet_of
from transforms.page_bodies import decompress_body
from transforms.records import Article
from transforms.syndication import detect_wire_credit
from transforms.topics import TopicMatcher, tag_article
from transforms.urls import canonicalise_url
from transforms.warc_records import WARC_FEED_PREFIX

# Below this many pages a batch runs in-process: starting worker processes would cost more than it saves.
POOL_THRESHOLD = 48
# Pages per worker call: small, so that at a batch's end no worker idles long while the other finishes.
CHUNK_SIZE = 4
MIN_WORDS = 20
# forkserver: fork can deadlock under Prefect's threads; spawn re-imports __main__ (Prefect) in every worker.
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


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
    job: PageJob,
    taxonomy_path: str | None = None,
    matcher: TopicMatcher | None = None,
    boilerplate: frozenset[int] = frozenset(),
) -> PageOutcome:
    """Turn one fetched page into a tagged Article, or say why it cannot be one (tagged with `matcher`, else
    with the taxonomy file's; the site's boilerplate lines, fingerprints in `boilerplate`, dropped)."""
    try:
        html = decode_html(job.read_body(), {"content-type": job.content_type} if job.content_type else None)
        page = extract_page(html, job.final_url, boilerplate)
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
        site_lines=page.site_lines,
    )
    article.topics = tag_article(matcher, title, text, source_country=job.country)
    return PageOutcome(job.url, article=article)


def build_chunk(
    jobs: list[PageJob], taxonomy_path: str | None, site_lines: dict[str, frozenset[int]] | None = None
) -> list[PageOutcome]:
    """Build a chunk of pages in one worker call (`site_lines`: each site's boilerplate lines)."""
    site_lines = site_lines or {}
    return [
        build_article(job, taxonomy_path, boilerplate=site_lines.get(outlet_of(job.final_url), frozenset()))
        for job in jobs
    ]


def lines_of_chunk(jobs: list[PageJob], site_lines: dict[str, frozenset[int]]) -> dict[str, frozenset[int]]:
    """The part of `site_lines` that a chunk's pages need (each worker call is sent only its sites' lines)."""
    sites = {outlet_of(job.final_url) for job in jobs}
    return {site: lines for site, lines in site_lines.items() if site in sites}


_pool: ProcessPoolExecutor | None = None
_pool_key: tuple[int, str | None] = (0, None)  # its workers and taxonomy


def start_worker(taxonomy_path: str | None) -> None:
    """Pool initializer: load the topic matcher once per worker process."""
    get_matcher(taxonomy_path)


def get_context() -> multiprocessing.context.BaseContext:
    """The workers' start method; with forkserver, what its server imports once for all workers."""
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":  # the server imports these once; its workers fork with them
        context.set_forkserver_preload(["__main__", __name__, "flows.stages.pool_warmup"])
    return context


def run_empty_process(context: multiprocessing.context.BaseContext) -> None:
    """Start and join a process that does nothing: with forkserver, this starts the server first."""
    process = context.Process(target=int)
    process.start()
    process.join()


def start_workers_early(workers: int) -> threading.Thread | None:
    """Start the workers' fork server in a background thread (returned), so that its imports and warm-up run
    while the run is opened, the feeds polled and the first batch fetched, not after; none for one worker."""
    if START_METHOD != "forkserver" or count_workers(workers) < 2:
        return None
    # Daemon: a run that finds nothing to build ends without waiting for the server.
    starter = threading.Thread(target=run_empty_process, args=(get_context(),), daemon=True)
    starter.start()
    return starter


def get_pool(workers: int, taxonomy_path: str | None) -> ProcessPoolExecutor:
    """The process-wide worker pool, made on first use and reused until close_pool."""
    global _pool, _pool_key
    if _pool is None or _pool_key != (workers, taxonomy_path):
        close_pool()
        _pool = ProcessPoolExecutor(
            workers, mp_context=get_context(), initializer=start_worker, initargs=(taxonomy_path,)
        )
        _pool_key = (workers, taxonomy_path)
    return _pool


def close_pool() -> None:
    """Shut the worker pool down, if one runs."""
    global _pool
    if _pool is not None:
        _pool.shutdown(cancel_futures=True)
    _pool = None


def count_workers(requested: int) -> int:
    """Resolve 0 to one worker per usable core."""
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def build_articles(
    jobs: list[PageJob],
    taxonomy_path: str | None = None,
    workers: int = 0,
    site_lines: dict[str, frozenset[int]] | None = None,
) -> list[PageOutcome]:
    """Build a batch's articles in page order: on the worker pool (`workers` processes, 0: one per core)
    once a batch is big enough to start it, else here; `site_lines` (flows/stages/site_lines.py) are the
    sites' boilerplate lines, dropped from their pages."""
    site_lines = site_lines or {}
    workers = count_workers(workers)
    if workers < 2 or (_pool is None and len(jobs) < POOL_THRESHOLD):
        return build_chunk(jobs, taxonomy_path, site_lines)
    chunks = [jobs[start : start + CHUNK_SIZE] for start in range(0, len(jobs), CHUNK_SIZE)]
    pool = get_pool(workers, taxonomy_path)
    built = pool.map(
        build_chunk, chunks, [taxonomy_path] * len(chunks), [lines_of_chunk(c, site_lines) for c in chunks]
    )
    return [outcome for chunk in built for outcome in chunk]
