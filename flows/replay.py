"""The replay flow: retry every open failure of the ledger through the same path it failed on.

Feeds are polled again; pages are rebuilt from their stored raw body when there is one, else fetched again;
damaged WARC records are read again at their offset. An item that now succeeds has its failure closed; one
that fails the same way keeps its original row; one that fails differently gets a new row, the old is closed.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.http.fetch import FetchResult, FetchSettings, fetch_batch
from flows.settings.config import DEFAULT_DB, Config, FeedSource, load_config
from flows.stages.articles import build_articles, close_pool
from flows.stages.batches import PackedBody, collect_pages, load_plan, plan_batch
from flows.stages.day_context import DayContext, complete_job
from flows.stages.poll import poll_feeds
from flows.stages.runlog import (
    close_run,
    count_failure_rows,
    current_run_id,
    failure_key,
    map_source_values,
    open_run,
    render_run_markdown,
    settle_failures,
)
from flows.stages.warc import WarcDamage, open_archive, read_record_at
from flows.stages.warc_pages import damage_row, process_records
from transforms.records import FeedEntry
from transforms.warc_records import WARC_FEED_PREFIX
from warehouse.db import write_session
from warehouse.failures import count_open_failures, select_open_failures
from warehouse.feeds import select_recorded_entries
from warehouse.page_files import attach_page_bodies, select_stored_pages

FEED_STAGES = {"poll", "parse"}
PAGE_STAGES = {"fetch", "extract", "load"}
NOT_RETRYABLE = {("parse", "malformed_entry")}  # the feed itself must change; polling again will not help


def classify_failure(row: dict[str, Any]) -> str:
    """How a failure is retried: feed, page, warc, or skip."""
    if (row["stage"], row["reason"]) in NOT_RETRYABLE:
        return "skip"
    if row["stage"] == "warc":
        return "warc"
    if row["stage"] in FEED_STAGES and row["feed_url"]:
        return "feed"
    if row["stage"] in PAGE_STAGES and (row["url"] or row["retry"].get("link")):
        return "page"
    return "skip"


def rebuild_entries(db_path: Path, failures: list[dict[str, Any]]) -> list[FeedEntry]:
    """The feed entries that led to the failed pages, as recorded (or as the retry data describes them)."""
    keys = [(row["feed_url"] or "", row["retry"].get("guid") or row["url"]) for row in failures]
    with write_session(db_path) as connection:
        recorded = select_recorded_entries(connection, keys)
    entries = []
    for row, key in zip(failures, keys, strict=True):
        stored = recorded.get(key, {})
        entries.append(
            FeedEntry(
                feed_url=key[0],
                guid=key[1],
                link=stored.get("link") or row["retry"].get("link") or row["url"],
                title=stored.get("title"),
                summary=stored.get("summary"),
                published_at=stored.get("published_at"),
            )
        )
    return entries


def stored_results(db_path: Path, urls: list[str]) -> tuple[dict[str, FetchResult], dict[str, PackedBody]]:
    """FetchResults for the URLs whose raw page is stored, with their bodies as stored (still compressed)."""
    results, bodies = {}, {}
    with write_session(db_path) as connection:
        rows = select_stored_pages(connection, urls)
    # A page whose body file is gone counts as not stored: it is fetched again.
    pages, _missing = attach_page_bodies(db_path, rows)
    for page in pages:
        results[page["url"]] = FetchResult(
            url=page["url"],
            kind="stored",
            final_url=page["final_url"],
            status=page["status"],
            headers={"content-type": page["content_type"] or ""},
            body=b"",  # the body travels compressed in `bodies`, as a fetched one does
            elapsed_ms=0.0,
            fetched_at=page["fetched_at"],
            error_class=None,
            error=None,
        )
        bodies[page["url"]] = PackedBody(
            page["body_compressed"], page["body_bytes"], page["body_hash"], page["body_codec"]
        )
    return results, bodies


def replay_entries(
    context: DayContext, entries: list[FeedEntry], settings: FetchSettings, prefer_stored: bool
) -> Counter[str]:
    """Send entries through plan → (stored body or fetch) → articles → load."""
    counts: Counter[str] = Counter()
    if not entries:
        return counts
    plan = plan_batch(entries, context.db_path, context.run_id)
    urls = [request.url for request in plan.requests]
    stored, packed = stored_results(context.db_path, urls) if prefer_stored else ({}, {})
    to_fetch = [request for request in plan.requests if request.url not in stored]
    fetched = {result.url: result for result in fetch_batch(to_fetch, settings)} if to_fetch else {}
    results = [stored.get(url) or fetched[url] for url in urls]
    counts["pages_from_store"] = sum(1 for url in urls if url in stored)
    counts["pages_fetched"] = len(fetched)
    jobs = [complete_job(job, context) for job in collect_pages(plan, results, context.config, packed)]
    outcomes = build_articles(jobs, context.taxonomy_path, workers=context.config.workers)
    counts.update({f"loaded_{k}": v for k, v in load_plan(plan, outcomes, context.db_path).items()})
    counts.update({f"failed_{k}": v for k, v in count_failure_rows(plan.load.failures).items()})
    return counts


@task(name="replay-feeds", cache_policy=NO_CACHE)
def replay_feeds(
    context: DayContext, failures: list[dict[str, Any]], settings: FetchSettings
) -> Counter[str]:
    """Poll the failed feeds again and follow their new entries."""
    configured = {feed.url: feed for feed in context.config.feeds}
    feeds = tuple(
        configured.get(url) or FeedSource(url=url) for url in sorted({r["feed_url"] for r in failures})
    )
    polled = poll_feeds(
        context.config.model_copy(update={"feeds": feeds}),
        context.db_path,
        context.run_id,
        settings,
        force=True,
    )
    counts = Counter({f"feed_{k}": v for k, v in polled.counts.items()})
    counts.update({f"failed_{k}": v for k, v in count_failure_rows(polled.failures).items()})
    counts.update(replay_entries(context, polled.entries, settings, prefer_stored=False))
    return counts


@task(name="replay-pages", cache_policy=NO_CACHE)
def replay_pages(
    context: DayContext, failures: list[dict[str, Any]], settings: FetchSettings
) -> Counter[str]:
    """Rebuild or fetch again the pages that failed."""
    return replay_entries(context, rebuild_entries(context.db_path, failures), settings, prefer_stored=True)


@task(name="replay-warc", cache_policy=NO_CACHE)
def replay_records(context: DayContext, failures: list[dict[str, Any]]) -> Counter[str]:
    """Read damaged WARC records again at their offsets and load those that are readable now."""
    counts: Counter[str] = Counter()
    responses, damages = [], []
    for row in failures:
        location, offset = row["retry"].get("archive"), row["retry"].get("offset")
        name = (row["feed_url"] or "").removeprefix(WARC_FEED_PREFIX)
        try:
            with open_archive(location) as path:
                record = read_record_at(path, int(offset), name)
        except Exception as error:  # the archive itself is gone or unreadable: the failure stays open
            record = WarcDamage(name, int(offset or 0), row["reason"], f"{type(error).__name__}: {error}")
        if isinstance(record, WarcDamage):
            damages.append(damage_row(context.run_id, record, location))
        elif record is not None:
            responses.append(record)
    plan, outcomes = process_records(context, responses, damages)
    counts.update({f"loaded_{k}": v for k, v in load_plan(plan, outcomes, context.db_path).items()})
    counts.update({f"failed_{k}": v for k, v in count_failure_rows(plan.load.failures).items()})
    return counts


def make_context(config: Config, db_path: Path, run_id: str) -> DayContext:
    """The shared stage context for a replay run."""
    return DayContext(
        db_path=db_path,
        run_id=run_id,
        config=config,
        taxonomy_path=str(config.taxonomy_path) if config.taxonomy_path else None,
        countries=map_source_values(config, "country"),
        languages=map_source_values(config, "language"),
    )


@flow(name="replay", log_prints=True)
def replay(
    since: datetime | None = None, sources: str | None = None, db: str | None = None
) -> dict[str, Any]:
    """Retry every open failure (optionally only those since a time) through the path it failed on."""
    started = time.monotonic()
    config = load_config(sources)
    db_path = Path(db) if db else DEFAULT_DB
    context = make_context(config, db_path, current_run_id())
    open_run(
        db_path,
        context.run_id,
        "replay",
        {"since": since, "sources": str(config.path), "db": str(db_path)},
        context.taxonomy_path,
    )
    counts: Counter[str] = Counter()
    status = "failed"
    try:
        with write_session(db_path) as connection:
            failures = select_open_failures(connection, since)
        groups: dict[str, list[dict[str, Any]]] = {"feed": [], "page": [], "warc": [], "skip": []}
        for row in failures:
            groups[classify_failure(row)].append(row)
        counts.update({f"open_{kind}": len(rows) for kind, rows in groups.items()})
        settings = config.fetch
        if groups["feed"]:
            counts.update(replay_feeds(context, groups["feed"], settings))
        if groups["page"]:
            counts.update(replay_pages(context, groups["page"], settings))
        if groups["warc"]:
            counts.update(replay_records(context, groups["warc"]))
        retried = groups["feed"] + groups["page"] + groups["warc"]
        settle_failures(db_path, context.run_id, [failure_key(row) for row in retried])
        status = "completed"
    finally:
        close_pool()
        failed = {k.removeprefix("failed_"): v for k, v in counts.items() if k.startswith("failed_") and v}
        stage_counts = {k: v for k, v in counts.items() if not k.startswith("failed_")}
        stage_counts["seconds"] = round(time.monotonic() - started, 2)
        summary = close_run(db_path, context.run_id, "replay", status, stage_counts, failed)
    with write_session(db_path) as connection:
        summary["still_open"] = count_open_failures(connection)
    get_run_logger().info(
        "replay %s: %s; failed again %s; still open %s", status, stage_counts, failed, summary["still_open"]
    )
    create_markdown_artifact(
        key="replay-summary", markdown=render_run_markdown(summary), description="replay run"
    )
    return summary
