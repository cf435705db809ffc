"""The backfill flow: one sub-run per day, loading WARC archives or reprocessing stored raw pages.

Both modes reuse the ingest path: WARC records go through flows/stages/warc_pages.py as pseudo feed
entries, stale stored pages through flows/stages/reprocess.py. A record already recorded as an entry is
skipped and a page is rebuilt only when its article is stale, so running a day twice changes nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.retag import retag_articles
from flows.settings.config import DEFAULT_DB, REPO_ROOT, Config, load_config
from flows.stages.articles import build_articles, close_pool
from flows.stages.batches import load_plan
from flows.stages.day_context import DayContext
from flows.stages.matchers import get_matcher
from flows.stages.reprocess import (
    read_day_articles,
    read_stale_pages,
    rebuild_job,
    record_missing_bodies,
    store_rebuilt,
)
from flows.stages.runlog import (
    close_run,
    count_failure_rows,
    current_run_id,
    map_source_values,
    open_run,
    render_run_markdown,
    scheduled_time,
    settle_failures,
)
from flows.stages.warc import WarcResponse, is_remote, list_day_archives
from flows.stages.warc_pages import process_records, read_archive_batches, select_fresh
from transforms.shards import parse_shard, shard_of_day
from transforms.warc_records import archive_file_name, list_source_sites
from warehouse.page_files import attach_page_bodies

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


def pick_taxonomy(taxonomy: str | None, config: Config) -> str | None:
    """The taxonomy file a run tags with: the parameter, else the sources file's."""
    return taxonomy or (str(config.taxonomy_path) if config.taxonomy_path else None)


def make_day_context(config: Config, db_path: Path, taxonomy_path: str | None) -> DayContext:
    """The context of this day's sub-run, with the configured sources' countries and languages."""
    return DayContext(
        db_path=db_path,
        run_id=current_run_id(),
        config=config,
        taxonomy_path=taxonomy_path,
        countries=map_source_values(config, "country"),
        languages=map_source_values(config, "language"),
    )


# ---------------------------------------------------------------------------------------------------- WARC


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


@task(name="reprocess-articles", cache_policy=NO_CACHE)
def rebuild_articles(context: DayContext, pages: list[dict[str, Any]]) -> Counter[str]:
    """Re-extract, re-clean, re-tag and store a batch of stored pages."""
    jobs = [rebuild_job(page, context) for page in pages]
    outcomes = build_articles(jobs, context.taxonomy_path, workers=context.config.workers)
    counts = store_rebuilt(context, pages, outcomes)
    settle_failures(context.db_path, context.run_id)
    return counts


def reprocess_day(context: DayContext, day: date, force: bool) -> Counter[str]:
    """Rebuild the day's articles made by older extractor/cleaner versions, then re-tag stale tags."""
    counts: Counter[str] = Counter()
    pages = read_stale_pages(context.db_path, day, force)
    counts["pages_stale"] = len(pages)
    for start in range(0, len(pages), context.config.batch_size):
        batch, missing = attach_page_bodies(context.db_path, pages[start : start + context.config.batch_size])
        if missing:
            counts["failed_page_file_missing"] += record_missing_bodies(context, missing)
        if batch:
            counts.update(rebuild_articles(context, batch))
    candidates = read_day_articles(context.db_path, day)
    counts["articles_of_day"] = len(candidates)
    matcher = get_matcher(context.taxonomy_path)
    counts.update(retag_articles(context.db_path, matcher, context.countries, candidates, force=force))
    return counts


# ---------------------------------------------------------------------------------------------------- flows


def split_failures(counts: Counter[str]) -> tuple[dict[str, Any], dict[str, int]]:
    """A day's stage counts, and its failure counts by reason (the non-zero `failed_` counts)."""
    failures = {
        key.removeprefix("failed_"): value
        for key, value in counts.items()
        if key.startswith("failed_") and value
    }
    return {key: value for key, value in counts.items() if not key.startswith("failed_")}, failures


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
    taxonomy_path = pick_taxonomy(taxonomy, config)
    archive = archive or str(DEFAULT_ARCHIVE)
    context = make_day_context(config, db_path, taxonomy_path)
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
        stage_counts, failures = split_failures(counts)
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


def run_days(
    days: list[date], day_params: dict[str, Any]
) -> tuple[list[dict[str, Any]], Counter[str], Counter[str]]:
    """Run each day as its own sub-run, in order, going on past a failed day; return a row per day, the
    summed counts and the failures by reason."""
    logger = get_run_logger()
    totals: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    per_day: list[dict[str, Any]] = []
    for number, day in enumerate(days, start=1):
        state = backfill_day(day=day, **day_params, return_state=True)
        if state.is_completed():
            summary = state.result()
            totals.update({k: v for k, v in summary["counts"].items() if k != "seconds"})
            failures.update(summary["failures"])
            per_day.append({"day": day.isoformat(), "status": "completed", **summary["counts"]})
        else:
            failures["day:failed"] += 1
            per_day.append({"day": day.isoformat(), "status": "failed", "error": str(state.message)[:200]})
        logger.info("day %s of %s (%s): %s", number, len(days), day, per_day[-1]["status"])
    return per_day, totals, failures


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
    shard: str | None = None,
) -> dict[str, Any]:
    """Backfill a date range, one sub-run per day (default: the day before the scheduled time); with
    `shard` K/N only the range's days that fall on shard K, so N workers share a long backfill."""
    started = time.monotonic()
    days = validate_window(*default_window(start, end), mode, archive)
    if shard:
        part = parse_shard(shard)
        days = [day for day in days if shard_of_day(day, part.count) == part.number]
        if not days:
            raise BackfillError(f"no day of the range falls on shard {part}: a longer range, or fewer shards")
    db_path = Path(db) if db else DEFAULT_DB
    run_id = current_run_id()
    day_params = {
        "mode": mode,
        "archive": archive,
        "sources": sources,
        "db": str(db_path),
        "taxonomy": taxonomy,
        "all_hosts": all_hosts,
        "force": force,
    }
    params = {"start": days[0].isoformat(), "end": days[-1].isoformat(), "shard": shard, **day_params}
    open_run(db_path, run_id, "backfill", params, pick_taxonomy(taxonomy, load_config(sources)))
    per_day, totals, failures = run_days(days, day_params)
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
