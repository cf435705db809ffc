"""Reprocessing stored raw pages: the day's stale pages, their rebuild jobs, and the write of the rebuilds.

A page is stale when its article was built by another extractor or cleaner version; a rebuild keeps the
stored article's identity and replaces its text, tags and duplicate links.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from flows.stages.articles import PageJob, PageOutcome
from flows.stages.batches import article_row, sort_key
from flows.stages.day_context import DayContext, complete_job
from flows.stages.matchers import get_matcher
from flows.stages.poll import failure_row
from transforms.clean import CLEANER_VERSION
from transforms.extract import EXTRACTOR_VERSION
from transforms.records import Article
from warehouse.db import run_transaction, write_session
from warehouse.load import insert_rows, now_utc
from warehouse.page_files import pages_dir_for
from warehouse.rebuilt_articles import select_day_articles, select_reprocess_pages, store_rebuilt_articles


def read_stale_pages(db_path: Path, day: date, force: bool) -> list[dict[str, Any]]:
    """Raw pages of the day whose article was built by an older extractor or cleaner (all with force)."""
    with write_session(db_path) as connection:
        return select_reprocess_pages(connection, day, force, EXTRACTOR_VERSION, CLEANER_VERSION)


def read_day_articles(db_path: Path, day: date) -> list[str]:
    """Ids of the articles built from the day's raw pages."""
    with write_session(db_path) as connection:
        return select_day_articles(connection, day)


def record_missing_bodies(context: DayContext, pages: list[dict[str, Any]]) -> int:
    """Record the stale pages whose body file is gone as extract failures (a replay fetches them again)."""
    rows = [
        failure_row(
            context.run_id,
            "extract",
            "page_file_missing",
            f"its stored body is not in {page['body_file']} under {pages_dir_for(context.db_path)}",
            page["url"],
            page["feed_url"],
            {"guid": page["guid"], "link": page["url"]},
        )
        for page in pages
    ]
    with write_session(context.db_path) as connection:
        return run_transaction(connection, lambda c: insert_rows(c, "failures", rows))


def rebuild_job(page: dict[str, Any], context: DayContext) -> PageJob:
    """A PageJob from a stored raw page and the entry that led to it."""
    return complete_job(
        PageJob(
            url=page["url"],
            final_url=page["final_url"],
            body_compressed=page["body_compressed"],  # decompressed in the worker
            body_codec=page["body_codec"],
            feed_url=page["feed_url"],
            guid=page["guid"],
            entry_title=page["entry_title"],
            entry_published_at=page["entry_published_at"],
            fetched_at=page["fetched_at"],
            language=context.languages.get(page["feed_url"] or ""),
            country=context.countries.get(page["feed_url"] or ""),
        ),
        context,
    )


def rebuild_failure_row(run_id: str, page: dict[str, Any], outcome: PageOutcome) -> dict[str, Any]:
    """The failure ledger row of a page whose rebuild failed (its stored article is kept)."""
    return failure_row(
        run_id,
        "extract",
        outcome.reason or "extract_error",
        outcome.detail,
        page["url"],
        page["feed_url"],
        {"guid": page["guid"], "link": page["url"], "reprocess": True},
    )


def tag_rows(article_id: str, article: Article) -> list[dict[str, Any]]:
    """The `article_topics` rows of a rebuilt article."""
    return [
        {
            "article_id": article_id,
            "topic_id": tag.topic_id,
            "score": tag.score,
            "evidence": tag.evidence,
            "taxonomy_version": tag.taxonomy_version,
        }
        for tag in article.topics
    ]


def store_rebuilt(
    context: DayContext, pages: list[dict[str, Any]], outcomes: list[PageOutcome]
) -> Counter[str]:
    """Overwrite rebuilt articles, replace their tags and redo content-hash dedupe; a failed rebuild keeps
    the stored article and is recorded in the failure ledger."""
    seen_at = now_utc()
    built = [
        (page, outcome.article)
        for page, outcome in zip(pages, outcomes, strict=True)
        if outcome.article is not None
    ]
    failures = [
        rebuild_failure_row(context.run_id, page, outcome)
        for page, outcome in zip(pages, outcomes, strict=True)
        if outcome.article is None
    ]
    built.sort(key=lambda item: sort_key(item[1]))
    rows, tags = [], []
    for rank, (page, article) in enumerate(built):
        row = article_row(article, context.run_id, seen_at, rank)
        # The stored identity stays, even if the page now names another.
        row["article_id"] = page["article_id"]
        rows.append(row)
        tags.extend(tag_rows(page["article_id"], article))
    version = get_matcher(context.taxonomy_path).version
    with write_session(context.db_path) as connection:
        counts = Counter(
            store_rebuilt_articles(connection, rows, tags, failures, version, context.run_id, seen_at)
        )
    counts["articles_rebuilt"] = len(rows)
    counts["tags_written"] = len(tags)
    return counts
