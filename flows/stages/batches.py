"""One batch of new entries through fetch → articles → load, as plain functions the flow wraps in tasks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flows.http.fetch import FetchRequest, FetchResult
from flows.settings.config import Config
from flows.stages.articles import POOL_THRESHOLD, PageJob, PageOutcome
from flows.stages.poll import failure_row, fetch_row
from transforms.hashing import make_article_id
from transforms.page_bodies import ZSTD, compress_body
from transforms.records import Article, FeedEntry
from transforms.revisions import entry_changed_at, is_newer_version
from transforms.urls import canonicalise_url, is_http_url
from warehouse.db import read_load_memory_limit, run_transaction, write_session
from warehouse.feeds import select_known_urls
from warehouse.load import LoadBatch, load_batch, now_utc
from warehouse.pending import defer_pending_entries
from warehouse.revisions import select_last_fetches

LOAD_THREADS = 1  # DuckDB threads of a batch load (load_plan)


@dataclass
class BatchPlan:
    """The pages a batch must fetch, the entries that lead to each, and the rows gathered so far."""

    run_id: str
    load: LoadBatch
    requests: list[FetchRequest] = field(default_factory=list)
    entries_by_url: dict[str, list[FeedEntry]] = field(default_factory=dict)
    revisions: set[str] = field(default_factory=set)  # known articles fetched again: their feed dates an edit
    deferred: dict[str, datetime] = field(default_factory=dict)  # page URL -> when its host may be asked


def group_same_pages(entries: list[FeedEntry]) -> list[FeedEntry]:
    """The entries in order of each page's first listing, those of one page (canonical URL) together."""
    groups: dict[str, list[FeedEntry]] = {}
    for entry in entries:
        key = canonicalise_url(entry.link) if entry.link else f"{entry.feed_url}#{entry.guid}"
        groups.setdefault(key, []).append(entry)
    return [entry for group in groups.values() for entry in group]


def same_page(first: FeedEntry, second: FeedEntry) -> bool:
    """Tell whether two entries link to one page."""
    return bool(first.link and second.link) and canonicalise_url(first.link) == canonicalise_url(second.link)


def split_batches(entries: list[FeedEntry], size: int) -> list[list[FeedEntry]]:
    """Cut entries into batches that start small, double up to `size`, and halve again towards the end; a
    page's entries stay in one batch (batch k+1 is fetched while k loads: it would fetch the page again)."""
    # The workers wait for the first batch's pages; after it, fetching batch k+1 overlaps building batch k.
    # At the end nothing overlaps the last batch's load, so the last batches shrink: each takes half of what
    # remains, and the final load is of a few dozen pages instead of hundreds.
    entries = group_same_pages(entries)
    first = min(size, max(POOL_THRESHOLD, size // 8))
    current = first
    batches = []
    start = 0
    while start < len(entries):
        remaining = len(entries) - start
        take = current if remaining > 2 * current else min(size, max(first, (remaining + 1) // 2))
        if remaining - take < first and remaining <= size:
            take = remaining  # no crumb of a batch after this one
        while start + take < len(entries) and same_page(entries[start + take - 1], entries[start + take]):
            take += 1
        batches.append(entries[start : start + take])
        start += take
        current = min(size, current * 2)
    return batches


def entry_row(entry: FeedEntry, run_id: str, seen_at: Any) -> dict[str, Any]:
    """Turn a feed entry into an `entries` row."""
    return {
        "feed_url": entry.feed_url,
        "guid": entry.guid,
        "link": entry.link,
        "title": entry.title,
        "summary": entry.summary,
        "published_at": entry.published_at,
        "first_seen_at": seen_at,
        "run_id": run_id,
        "updated_at": entry.updated_at,
    }


def reference_rows(article_id: str, entry: FeedEntry, seen_at: Any) -> dict[str, Any]:
    """An `article_refs` row: this entry carried that article."""
    return {
        "article_id": article_id,
        "feed_url": entry.feed_url,
        "guid": entry.guid,
        "url": entry.link,
        "seen_at": seen_at,
    }


def url_duplicate_row(link: str, original_id: str, run_id: str, seen_at: Any) -> dict[str, Any] | None:
    """A `duplicates` row for a URL repeating a stored article; None if it is that article's own URL."""
    duplicate_id = make_article_id(link)
    if duplicate_id == original_id:
        return None
    return {
        "article_id": duplicate_id,
        "duplicate_of": original_id,
        "similarity": 1.0,
        "method": "url",
        "url": link,
        "detected_at": seen_at,
        "run_id": run_id,
    }


def plan_batch(entries: list[FeedEntry], db_path: Path, run_id: str) -> BatchPlan:
    """Decide which pages to fetch: skip links whose canonical URL is already stored or already planned."""
    seen_at = now_utc()
    plan = BatchPlan(run_id=run_id, load=LoadBatch(run_id=run_id))
    plan.load.entries = [entry_row(entry, run_id, seen_at) for entry in entries]
    followable = []
    for entry in entries:
        if entry.error or not is_http_url(entry.link):
            reason_detail = entry.error or f"unsupported link {entry.link!r}"
            plan.load.failures.append(
                failure_row(
                    run_id,
                    "parse",
                    "malformed_entry",
                    reason_detail,
                    entry.link,
                    entry.feed_url,
                    {"guid": entry.guid},
                )
            )
            continue
        followable.append((canonicalise_url(entry.link), entry))
    with write_session(db_path) as connection:
        known = select_known_urls(connection, [canonical for canonical, _ in followable])
        last_fetched = select_last_fetches(connection, list(known.values()))
    groups: dict[str, list[FeedEntry]] = {}
    for canonical, entry in followable:
        groups.setdefault(canonical, []).append(entry)
    for canonical, group in groups.items():
        if canonical in known and any(
            is_newer_version(entry_changed_at(entry), last_fetched.get(known[canonical])) for entry in group
        ):
            plan.revisions.add(known[canonical])  # the page changed since it was fetched: fetch it again
        elif canonical in known:
            original_id = known[canonical]
            for entry in group:
                plan.load.article_refs.append(reference_rows(original_id, entry, seen_at))
                duplicate = url_duplicate_row(entry.link, original_id, run_id, seen_at)
                if duplicate:
                    plan.load.url_duplicates.append(duplicate)
            continue
        # Fetch the clean link when one of the entries has it, so the article keeps its canonical spelling.
        group.sort(key=lambda entry: entry.link != canonical)
        plan.requests.append(FetchRequest(url=group[0].link, kind="page"))
        plan.entries_by_url[group[0].link] = group
    return plan


@dataclass(slots=True)
class PackedBody:
    """A fetched page's body as kept: compressed (with the codec named), with its raw size and hash."""

    body_compressed: bytes
    body_bytes: int
    body_hash: str
    body_codec: str = ZSTD


def pack_body(body: bytes) -> PackedBody:
    """Compress a page body for keeping and for the trip to a worker process."""
    return PackedBody(compress_body(body), len(body), hashlib.sha256(body).hexdigest())


def make_page_packer(packed: dict[str, PackedBody]) -> Callable[[FetchResult], FetchResult]:
    """A fetch hook that packs each page body into `packed` as it arrives and drops the raw bytes."""

    def pack(result: FetchResult) -> FetchResult:
        if result.ok and result.body is not None:
            packed[result.url] = pack_body(result.body)
            result.body = b""  # still ok; collect_pages reads the packed body
        return result

    return pack


def raw_page_row(run_id: str, result: FetchResult, page: PackedBody) -> dict[str, Any]:
    """The `raw_pages` row of a fetched page, its body as packed."""
    return {
        "url": result.url,
        "final_url": result.final_url,
        "status": result.status,
        "content_type": result.headers.get("content-type"),
        "fetched_at": result.fetched_at,
        "body_compressed": page.body_compressed,
        "body_codec": page.body_codec,
        "body_bytes": page.body_bytes,
        "body_hash": page.body_hash,
        "run_id": run_id,
    }


def make_page_job(result: FetchResult, entry: FeedEntry, page: PackedBody, feed: dict[str, Any]) -> PageJob:
    """The PageJob of a fetched page, with the language and country of the feed that listed it."""
    return PageJob(
        url=result.url,
        final_url=result.final_url,
        body_compressed=page.body_compressed,  # the same bytes object as the raw_pages row: one copy
        body_codec=page.body_codec,
        feed_url=entry.feed_url,
        guid=entry.guid,
        entry_title=entry.title,
        entry_published_at=entry.published_at,
        language=feed.get("language"),
        country=feed.get("country"),
        content_type=result.headers.get("content-type"),
        fetched_at=result.fetched_at,
    )


def drop_deferred_entries(plan: BatchPlan) -> None:
    """Keep the deferred pages' entries out of the batch's seen entries: their pending rows keep them."""
    if plan.deferred:
        keys = {(e.feed_url, e.guid) for url in plan.deferred for e in plan.entries_by_url[url]}
        plan.load.entries = [row for row in plan.load.entries if (row["feed_url"], row["guid"]) not in keys]


def collect_pages(
    plan: BatchPlan,
    results: list[FetchResult],
    config: Config,
    packed: dict[str, PackedBody] | None = None,
    defer_to_pending: bool = False,
) -> list[PageJob]:
    """Record every page fetch in the ledger, keep raw bodies, and return the pages to build articles from.
    With `defer_to_pending`, pages whose host asked to be left alone until later (Retry-After) are no
    failures: their entries stay pending until then (load_plan records when)."""
    feeds = {feed.url: {"language": feed.language, "country": feed.country} for feed in config.feeds}
    packed = packed if packed is not None else {}
    jobs = []
    for result in results:
        if result.ok and result.url not in packed:
            packed[result.url] = pack_body(result.body or b"")
        fetched = fetch_row(plan.run_id, result)
        if result.url in packed:
            fetched["bytes"] = packed[result.url].body_bytes
        plan.load.fetches.append(fetched)
        entry = plan.entries_by_url[result.url][0]
        if defer_to_pending and result.retry_at is not None:
            plan.deferred[result.url] = result.retry_at
            continue
        if not result.ok:
            plan.load.failures.append(
                failure_row(
                    plan.run_id,
                    "fetch",
                    result.error_class or "fetch_error",
                    result.error,
                    result.url,
                    entry.feed_url,
                    {"guid": entry.guid, "link": entry.link},
                )
            )
            continue
        page = packed.pop(result.url)
        plan.load.raw_pages.append(raw_page_row(plan.run_id, result, page))
        jobs.append(make_page_job(result, entry, page, feeds.get(entry.feed_url, {})))
    drop_deferred_entries(plan)
    return jobs


def deferred_rows(plan: BatchPlan) -> list[dict[str, Any]]:
    """The pending keys of the batch's deferred entries, with when they are due."""
    return [
        {"feed_url": entry.feed_url, "guid": entry.guid, "due_at": retry_at}
        for url, retry_at in plan.deferred.items()
        for entry in plan.entries_by_url[url]
    ]


ARTICLE_FIELDS = (  # an Article's fields that its `articles` row holds as they are
    "article_id", "canonical_url", "url", "final_url", "feed_url", "source", "title", "byline",
    "published_at", "language", "text", "word_count", "content_hash", "categories", "extractor_version",
    "cleaner_version", "minhash", "wire_credit", "published_source", "date_candidates", "modified_at",
    "language_source", "language_confidence", "declared_language", "extractor",
    "site_lines",  # not a column: warehouse/site_lines.py counts them
)


def article_row(article: Article, run_id: str, seen_at: Any, rank: int) -> dict[str, Any]:
    """Turn an Article into an `articles` row."""
    row = {name: getattr(article, name) for name in ARTICLE_FIELDS}
    row.update(first_seen_at=seen_at, updated_at=seen_at, run_id=run_id, batch_rank=rank)
    return row


def topic_rows(article: Article) -> list[dict[str, Any]]:
    """The `article_topics` rows of an article's tags."""
    return [
        {
            "article_id": article.article_id,
            "topic_id": tag.topic_id,
            "score": tag.score,
            "evidence": tag.evidence,
            "taxonomy_version": tag.taxonomy_version,
        }
        for tag in article.topics
    ]


def sort_key(article: Article) -> tuple:
    """Deterministic batch order: earliest published first, then by canonical URL."""
    published = article.published_at.isoformat() if article.published_at else "9999"
    return (published, article.canonical_url)


def add_articles(plan: BatchPlan, outcomes: list[PageOutcome], known: dict[str, str]) -> None:
    """Add built articles (and their refs, URL duplicates and topics) to the batch; record build failures."""
    seen_at = now_utc()
    built = []
    for outcome in outcomes:
        entries = plan.entries_by_url[outcome.url]
        if outcome.article is None:
            entry = entries[0]
            plan.load.failures.append(
                failure_row(
                    plan.run_id,
                    "extract",
                    outcome.reason or "extract_error",
                    outcome.detail,
                    outcome.url,
                    entry.feed_url,
                    {"guid": entry.guid, "link": entry.link},
                )
            )
            continue
        built.append((outcome.article, entries))
    built.sort(key=lambda item: sort_key(item[0]))
    kept: dict[str, str] = dict(known)  # canonical URL → article id already stored or kept in this batch
    for rank, (article, entries) in enumerate(built):
        original_id = kept.get(article.canonical_url)
        # Links repeating an article: all links of a stored one; of a new one, all when several led to it.
        repeats = entries if original_id is not None or len(entries) > 1 else []
        if original_id is not None and original_id == article.article_id and original_id in plan.revisions:
            plan.load.revised_articles.append(article_row(article, plan.run_id, seen_at, rank))
            plan.load.article_topics.extend(topic_rows(article))
        if original_id is None:
            kept[article.canonical_url] = article.article_id
            plan.load.articles.append(article_row(article, plan.run_id, seen_at, rank))
            plan.load.article_topics.extend(topic_rows(article))
            original_id = article.article_id
        plan.load.article_refs.extend(reference_rows(original_id, entry, seen_at) for entry in entries)
        for entry in repeats:
            duplicate = url_duplicate_row(entry.link or article.url, original_id, plan.run_id, seen_at)
            if duplicate:
                plan.load.url_duplicates.append(duplicate)


def load_plan(plan: BatchPlan, outcomes: list[PageOutcome], db_path: Path) -> dict[str, int]:
    """Write the batch in one transaction, resolving canonical URLs that arrived meanwhile."""
    canonical_urls = [o.article.canonical_url for o in outcomes if o.article is not None]
    # One DuckDB thread: the load runs beside the workers, which keep the cores busy, and each thread's own
    # hash tables and buffers stay allocated until the session closes (a load over 19,500 articles held
    # 76 MiB instead of 87-93, in the same time).
    with write_session(db_path, memory_limit=read_load_memory_limit(), threads=LOAD_THREADS) as connection:
        known = select_known_urls(connection, canonical_urls)
        add_articles(plan, outcomes, known)
        deferred = deferred_rows(plan)
        if deferred:
            run_transaction(connection, lambda c: defer_pending_entries(c, deferred))
        return load_batch(connection, plan.load)
