"""The backfill flow: one sub-run per day, loading WARC archives or reprocessing stored raw pages.

Both modes reuse the ingest path. WARC records become pseudo feed entries (feed "warc:<file>", guid the
WARC-Record-ID) → `plan_batch` → FetchResults built from the records → `collect_pages` → `build_articles` →
`load_plan`. A record already recorded as an entry is skipped, so running a day twice changes nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.articles import PageJob, PageOutcome, build_articles, close_pool
from flows.batches import BatchPlan, article_row, collect_pages, load_plan, plan_batch, sort_key
from flows.config import DEFAULT_DB, REPO_ROOT, Config, load_config
from flows.fetch import FetchResult
from flows.matchers import get_matcher
from flows.poll import failure_row
from flows.retag import retag_articles
from flows.runlog import (
    close_run,
    count_failure_rows,
    current_run_id,
    map_source_values,
    open_run,
    render_run_markdown,
    scheduled_time,
    settle_failures,
)
from flows.warc import WarcDamage, WarcResponse, is_remote, list_day_archives, open_archive, read_warc
from transforms.clean import CLEANER_VERSION
from transforms.extract import EXTRACTOR_VERSION
from transforms.urls import registered_site_of
from transforms.warc_records import (
    archive_file_name,
    is_html_response,
    is_wanted_host,
    list_source_sites,
    make_warc_entry,
    warc_feed_url,
)
from warehouse.db import transaction, write_session
from warehouse.feeds import select_unseen_entries
from warehouse.load import insert_rows, now_utc, to_arrow
from warehouse.near_dupes import link_near_duplicates
from warehouse.page_files import attach_page_bodies, pages_dir_for
from warehouse.sql import read_sql

MODES = ("warc", "reprocess")
MAX_DAYS = 3660
DEFAULT_ARCHIVE = REPO_ROOT / "seeds" / "archive"


class BackfillError(ValueError):
    """A backfill request that cannot run (bad dates, mode or archive), described in one line."""


def parse_day(name: str, value: date | str | None) -> date | None:
    """Read a YYYY-MM-DD day (or a date); None stays None."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as error:
        raise BackfillError(f"{name}: {value!r} is not a date (expected YYYY-MM-DD)") from error


def validate_window(
    start: date | str | None,
    end: date | str | None,
    mode: str,
    archive: str | None = None,
    today: date | None = None,
) -> list[date]:
    """Check a backfill request and return its days; every problem is a BackfillError naming the value."""
    if mode not in MODES:
        raise BackfillError(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    first, last = parse_day("start", start), parse_day("end", end)
    if first is None or last is None:
        raise BackfillError("start and end: both dates are needed")
    if last < first:
        raise BackfillError(f"end: {last} is before start {first}")
    if (last - first).days + 1 > MAX_DAYS:
        raise BackfillError(f"end: a backfill covers at most {MAX_DAYS} days, not {(last - first).days + 1}")
    if today is not None and first > today:
        raise BackfillError(f"start: {first} is in the future")
    if mode == "warc" and archive and not is_remote(archive) and not Path(archive).is_dir():
        raise BackfillError(f"archive: {archive}: no such folder (give a folder or an http(s) base URL)")
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def default_window(start: date | str | None, end: date | str | None) -> tuple[date | str, date | str]:
    """Fill missing dates with the day before the run's scheduled time (a scheduled daily backfill)."""
    yesterday = (scheduled_time() - timedelta(days=1)).date()
    return (
        start if start is not None else (end if end is not None else yesterday),
        end if end is not None else (start if start is not None else yesterday),
    )


@dataclass
class DayContext:
    """What every stage of one day's sub-run needs."""

    db_path: Path
    run_id: str
    config: Config
    taxonomy_path: str | None
    countries: dict[str, str] = field(default_factory=dict)
    languages: dict[str, str] = field(default_factory=dict)


def complete_job(job: PageJob, context: DayContext) -> PageJob:
    """Give a page without a configured feed the language and country of its outlet's configured source."""
    site = registered_site_of(job.final_url)
    job.country = job.country or context.countries.get(site)
    job.language = job.language or context.languages.get(site)
    return job


# ---------------------------------------------------------------------------------------------------- WARC


def response_result(response: WarcResponse) -> FetchResult:
    """A FetchResult standing for a WARC response record, as if the page had just been fetched."""
    return FetchResult(
        url=response.target_uri,
        kind="warc",
        final_url=response.target_uri,
        status=response.status,
        headers=response.headers,
        body=response.body,
        elapsed_ms=0.0,
        fetched_at=response.warc_date or now_utc(),
        error_class=None,
        error=None,
    )


def damage_row(run_id: str, damage: WarcDamage, location: str) -> dict[str, Any]:
    """A failure ledger row for a record that could not be read, with what re-reading it needs."""
    return failure_row(
        run_id,
        "warc",
        damage.reason,
        damage.detail,
        damage.target_uri,
        warc_feed_url(damage.file_name),
        {"archive": location, "offset": damage.offset},
    )


def select_fresh(db_path: Path, responses: list[WarcResponse]) -> list[WarcResponse]:
    """The records not yet recorded as entries by an earlier backfill."""
    keys = [(warc_feed_url(r.file_name), r.record_id) for r in responses]
    with write_session(db_path) as connection:
        unseen = select_unseen_entries(connection, keys)
    return [r for r, key in zip(responses, keys, strict=True) if key in unseen]


def process_records(
    context: DayContext, responses: list[WarcResponse], damages: list[dict[str, Any]]
) -> tuple[BatchPlan, list[PageOutcome]]:
    """Plan the records as pseudo entries, build articles from their bodies; return the plan and outcomes."""
    entries = [make_warc_entry(r.file_name, r.record_id, r.target_uri, r.warc_date) for r in responses]
    plan = plan_batch(entries, context.db_path, context.run_id)
    plan.load.failures.extend(damages)
    by_url: dict[str, WarcResponse] = {}
    for response in responses:
        by_url.setdefault(response.target_uri, response)
    results = [response_result(by_url[request.url]) for request in plan.requests]
    jobs = [complete_job(job, context) for job in collect_pages(plan, results, context.config)]
    return plan, build_articles(
        jobs, context.taxonomy_path, workers=context.config.workers, scheduler=context.config.dask_scheduler
    )


@task(name="warc-batch", cache_policy=NO_CACHE)
def load_warc_batch(
    context: DayContext, responses: list[WarcResponse], damages: list[dict[str, Any]]
) -> Counter[str]:
    """Send one batch of WARC records through extract → clean → dedupe → tag → load."""
    counts: Counter[str] = Counter()
    fresh = select_fresh(context.db_path, responses)
    counts["records_already_loaded"] = len(responses) - len(fresh)
    plan, outcomes = process_records(context, fresh, damages)
    counts["pages"] = len(plan.requests)
    counts.update(
        {f"loaded_{key}": value for key, value in load_plan(plan, outcomes, context.db_path).items()}
    )
    counts.update({f"failed_{key}": value for key, value in count_failure_rows(plan.load.failures).items()})
    settle_failures(context.db_path, context.run_id)
    return counts


def read_archive_batches(
    location: str, sites: frozenset[str] | None, run_id: str, batch_size: int, counts: Counter[str]
):
    """Yield (responses, damage rows) batches of one archive file, counting what is skipped and why."""
    responses: list[WarcResponse] = []
    damages: list[dict[str, Any]] = []
    with open_archive(location) as path:
        for item in read_warc(path, archive_file_name(location)):
            if isinstance(item, WarcDamage):
                counts["records_damaged"] += 1
                damages.append(damage_row(run_id, item, location))
                continue
            counts["records_read"] += 1
            if not is_wanted_host(item.target_uri, sites):
                counts["records_other_host"] += 1
            elif not is_html_response(item.status, item.headers.get("content-type")):
                counts["records_not_html_200"] += 1
            else:
                responses.append(item)
            if len(responses) >= batch_size:
                yield responses, damages
                responses, damages = [], []
    if responses or damages:
        yield responses, damages


def backfill_warc_day(context: DayContext, day: date, archive: str, all_hosts: bool) -> Counter[str]:
    """Load one day's WARC files; return counts per stage."""
    logger = get_run_logger()
    counts: Counter[str] = Counter()
    sites = None if all_hosts else list_source_sites(feed.url for feed in context.config.feeds)
    locations = list_day_archives(archive, day)
    counts["archives"] = len(locations)
    if not locations:
        logger.warning("%s: no CC-NEWS files for %s", archive, day)
    for location in locations:
        for responses, damages in read_archive_batches(
            location, sites, context.run_id, context.config.batch_size, counts
        ):
            counts.update(load_warc_batch(context, responses, damages))
        logger.info("%s: %s", archive_file_name(location), dict(counts))
    return counts


# ------------------------------------------------------------------------------------------------ reprocess


def day_bounds(day: date) -> dict[str, datetime]:
    """Query parameters for [day, day + 1) in UTC."""
    start = datetime.combine(day, datetime.min.time())
    return {"day_start": start, "day_end": start + timedelta(days=1)}


def select_reprocess_pages(db_path: Path, day: date, force: bool) -> list[dict[str, Any]]:
    """Raw pages of the day whose article was built by an older extractor or cleaner (all with force)."""
    params = {
        **day_bounds(day),
        "force": force,
        "extractor_version": EXTRACTOR_VERSION,
        "cleaner_version": CLEANER_VERSION,
    }
    with write_session(db_path) as connection:
        cursor = connection.execute(read_sql("select_reprocess_pages"), params)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


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
        return insert_rows(connection, "failures", rows)


def select_day_articles(db_path: Path, day: date) -> list[str]:
    """Ids of the articles built from the day's raw pages."""
    with write_session(db_path) as connection:
        return [
            row[0] for row in connection.execute(read_sql("select_day_articles"), day_bounds(day)).fetchall()
        ]


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


def store_rebuilt(
    context: DayContext, pages: list[dict[str, Any]], outcomes: list[PageOutcome]
) -> Counter[str]:
    """Overwrite rebuilt articles, replace their tags and redo content-hash dedupe; a failed rebuild keeps
    the stored article and is recorded in the failure ledger."""
    counts: Counter[str] = Counter()
    seen_at = now_utc()
    rows, tags, failures = [], [], []
    built = []
    for page, outcome in zip(pages, outcomes, strict=True):
        if outcome.article is None:
            failures.append(
                failure_row(
                    context.run_id,
                    "extract",
                    outcome.reason or "extract_error",
                    outcome.detail,
                    page["url"],
                    page["feed_url"],
                    {"guid": page["guid"], "link": page["url"], "reprocess": True},
                )
            )
            continue
        built.append((page, outcome.article))
    built.sort(key=lambda item: sort_key(item[1]))
    for rank, (page, article) in enumerate(built):
        row = article_row(article, context.run_id, seen_at, rank)
        row["article_id"] = page[
            "article_id"
        ]  # the stored identity stays, even if the page now names another
        rows.append(row)
        tags.extend(
            {
                "article_id": page["article_id"],
                "topic_id": tag.topic_id,
                "score": tag.score,
                "evidence": tag.evidence,
                "taxonomy_version": tag.taxonomy_version,
            }
            for tag in article.topics
        )
    version = get_matcher(context.taxonomy_path).version
    with write_session(context.db_path) as connection, transaction(connection):
        if rows:
            ids = pa.table({"article_id": pa.array([row["article_id"] for row in rows], pa.string())})
            connection.register("batch_articles", to_arrow("articles", rows))
            connection.register("changed_articles", ids)
            connection.register("retagged_articles", ids)
            connection.register("new_tags", to_arrow("article_topics", tags))
            try:
                connection.execute(read_sql("forget_changed_hash_duplicates"))
                connection.execute(read_sql("update_rebuilt_articles"))
                connection.execute(read_sql("delete_retagged_tags"))
                connection.execute(
                    read_sql("insert_retagged_tags"), {"version": version, "tagged_at": seen_at}
                )
                connection.execute(
                    read_sql("mark_content_duplicates"), {"detected_at": seen_at, "run_id": context.run_id}
                )
                # The text may have changed: sign it again and re-link its old and new clusters.
                counts.update(
                    link_near_duplicates(
                        connection, rows, context.run_id, seen_at,
                        resigned=[row["article_id"] for row in rows],
                    )
                )
            finally:
                for view in ("batch_articles", "changed_articles", "retagged_articles", "new_tags"):
                    connection.unregister(view)
        counts["failed_extract"] = insert_rows(connection, "failures", failures)
    counts["articles_rebuilt"] = len(rows)
    counts["tags_written"] = len(tags)
    return counts


@task(name="reprocess-articles", cache_policy=NO_CACHE)
def rebuild_articles(context: DayContext, pages: list[dict[str, Any]]) -> Counter[str]:
    """Re-extract, re-clean, re-tag and store a batch of stored pages."""
    jobs = [rebuild_job(page, context) for page in pages]
    outcomes = build_articles(
        jobs, context.taxonomy_path, workers=context.config.workers, scheduler=context.config.dask_scheduler
    )
    counts = store_rebuilt(context, pages, outcomes)
    settle_failures(context.db_path, context.run_id)
    return counts


def reprocess_day(context: DayContext, day: date, force: bool) -> Counter[str]:
    """Rebuild the day's articles made by older extractor/cleaner versions, then re-tag stale tags."""
    counts: Counter[str] = Counter()
    pages = select_reprocess_pages(context.db_path, day, force)
    counts["pages_stale"] = len(pages)
    for start in range(0, len(pages), context.config.batch_size):
        batch, missing = attach_page_bodies(context.db_path, pages[start : start + context.config.batch_size])
        if missing:
            counts["failed_page_file_missing"] += record_missing_bodies(context, missing)
        if batch:
            counts.update(rebuild_articles(context, batch))
    candidates = select_day_articles(context.db_path, day)
    counts["articles_of_day"] = len(candidates)
    matcher = get_matcher(context.taxonomy_path)
    counts.update(retag_articles(context.db_path, matcher, context.countries, candidates, force=force))
    return counts


# ---------------------------------------------------------------------------------------------------- flows


@flow(name="backfill-day", flow_run_name="backfill-{mode}-{day}", log_prints=True)
def backfill_day(
    day: date,
    mode: Literal["warc", "reprocess"] = "warc",
    archive: str | None = None,
    sources: str | None = None,
    db: str | None = None,
    taxonomy: str | None = None,
    all_hosts: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Backfill one day: load its WARC files, or reprocess its stored pages; re-runnable on its own."""
    started = time.monotonic()
    config = load_config(sources)
    db_path = Path(db) if db else DEFAULT_DB
    taxonomy_path = taxonomy or (str(config.taxonomy_path) if config.taxonomy_path else None)
    archive = archive or str(DEFAULT_ARCHIVE)
    context = DayContext(
        db_path=db_path,
        run_id=current_run_id(),
        config=config,
        taxonomy_path=taxonomy_path,
        countries=map_source_values(config, "country"),
        languages=map_source_values(config, "language"),
    )
    params = {
        "day": day.isoformat(),
        "mode": mode,
        "archive": archive if mode == "warc" else None,
        "sources": str(config.path),
        "db": str(db_path),
        "taxonomy": taxonomy_path,
        "all_hosts": all_hosts,
        "force": force,
    }
    open_run(db_path, context.run_id, "backfill-day", params, taxonomy_path)
    counts: Counter[str] = Counter()
    status = "failed"
    try:
        if mode == "warc":
            counts = backfill_warc_day(context, day, archive, all_hosts)
        else:
            counts = reprocess_day(context, day, force)
        status = "completed"
    finally:
        close_pool()
        failures = {
            key.removeprefix("failed_"): value
            for key, value in counts.items()
            if key.startswith("failed_") and value
        }
        stage_counts = {key: value for key, value in counts.items() if not key.startswith("failed_")}
        stage_counts["seconds"] = round(time.monotonic() - started, 2)
        summary = close_run(db_path, context.run_id, "backfill-day", status, stage_counts, failures)
        summary["day"] = day.isoformat()
    get_run_logger().info("backfill %s %s: %s; failures %s", mode, day, stage_counts, failures)
    create_markdown_artifact(
        key=f"backfill-{mode}-{day:%Y-%m-%d}",
        markdown=render_run_markdown(summary, title=f"backfill {mode} {day}: {status}"),
        description="backfill day",
    )
    return summary


@flow(name="backfill", log_prints=True)
def backfill(
    start: date | None = None,
    end: date | None = None,
    mode: Literal["warc", "reprocess"] = "warc",
    archive: str | None = None,
    sources: str | None = None,
    db: str | None = None,
    taxonomy: str | None = None,
    all_hosts: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Backfill a date range, one sub-run per day (default: the day before the scheduled time)."""
    started = time.monotonic()
    days = validate_window(*default_window(start, end), mode, archive)
    logger = get_run_logger()
    db_path = Path(db) if db else DEFAULT_DB
    run_id = current_run_id()
    params = {
        "start": days[0].isoformat(),
        "end": days[-1].isoformat(),
        "mode": mode,
        "archive": archive,
        "sources": sources,
        "db": str(db_path),
        "taxonomy": taxonomy,
        "all_hosts": all_hosts,
        "force": force,
    }
    config = load_config(sources)
    open_run(
        db_path,
        run_id,
        "backfill",
        params,
        taxonomy or (str(config.taxonomy_path) if config.taxonomy_path else None),
    )
    totals: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    per_day: list[dict[str, Any]] = []
    for number, day in enumerate(days, start=1):
        state = backfill_day(
            day=day,
            mode=mode,
            archive=archive,
            sources=sources,
            db=str(db_path),
            taxonomy=taxonomy,
            all_hosts=all_hosts,
            force=force,
            return_state=True,
        )
        if state.is_completed():
            summary = state.result()
            totals.update({k: v for k, v in summary["counts"].items() if k != "seconds"})
            failures.update(summary["failures"])
            per_day.append({"day": day.isoformat(), "status": "completed", **summary["counts"]})
        else:
            failures["day:failed"] += 1
            per_day.append({"day": day.isoformat(), "status": "failed", "error": str(state.message)[:200]})
        logger.info("day %s of %s (%s): %s", number, len(days), day, per_day[-1]["status"])
    failed_days = [row["day"] for row in per_day if row["status"] != "completed"]
    totals["days"] = len(days)
    totals["days_failed"] = len(failed_days)
    totals["seconds"] = round(time.monotonic() - started, 2)
    status = "failed" if failed_days else "completed"
    summary = close_run(db_path, run_id, "backfill", status, dict(totals), dict(failures))
    summary["days"] = per_day
    create_table_artifact(key="backfill-days", table=per_day, description=f"backfill {mode} per day")
    create_markdown_artifact(
        key="backfill-summary",
        markdown=render_run_markdown(summary, title=f"backfill {mode} {days[0]} → {days[-1]}: {status}"),
        description="backfill run",
    )
    if failed_days:
        raise RuntimeError(f"backfill days failed (re-run each alone): {', '.join(failed_days)}")
    return summary
