"""The ingest flow: poll feeds → fetch new pages → build articles → load, in batches."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.articles import PageJob, PageOutcome, build_articles, close_pool, warm_pool
from flows.batches import (
    BatchPlan,
    PackedBody,
    collect_pages,
    load_plan,
    make_page_packer,
    plan_batch,
    split_batches,
)
from flows.config import DEFAULT_DB, Config, load_config
from flows.fetch import FetchSettings, fetch_batch
from flows.poll import PollResult, poll_feeds
from flows.runlog import close_run, open_run
from flows.summary import render_markdown
from transforms.records import FeedEntry
from warehouse.snapshot import publish_snapshot


def make_fetch_settings(config: Config) -> FetchSettings:
    """Fetch settings for a run, from the sources file's `fetch:` section and top-level switches."""
    extra: dict[str, Any] = {
        "allow_private_networks": config.allow_private_networks,
        "mirror_root": config.mirror_root,
    }
    if config.user_agent:
        extra["user_agent"] = config.user_agent
    if config.contact_url:
        extra["contact_url"] = config.contact_url
    return FetchSettings(**asdict(config.fetch), **extra)


@task(name="entries", cache_policy=NO_CACHE)
def poll_entries(
    config: Config, db_path: Path, run_id: str, settings: FetchSettings, force: bool
) -> PollResult:
    """Poll due feeds and return the entries the warehouse has not seen."""
    result = poll_feeds(config, db_path, run_id, settings, force=force)
    get_run_logger().info("polled %s", result.counts)
    return result


@task(name="pages", cache_policy=NO_CACHE)
def fetch_pages(
    entries: list[FeedEntry], db_path: Path, run_id: str, settings: FetchSettings, config: Config
) -> tuple[BatchPlan, list[PageJob], int, float]:
    """Plan a batch (skipping known URLs) and fetch it, each body compressed as it arrives; also timed."""
    started = time.monotonic()
    plan = plan_batch(entries, db_path, run_id)
    packed: dict[str, PackedBody] = {}
    results = fetch_batch(plan.requests, settings, finish=make_page_packer(packed))
    jobs = collect_pages(plan, results, config, packed)
    return plan, jobs, len(results), time.monotonic() - started


@task(name="articles", cache_policy=NO_CACHE)
def build_batch_articles(jobs: list[PageJob], config: Config, taxonomy_path: str | None) -> list[PageOutcome]:
    """Extract, clean, hash and tag the batch's pages."""
    return build_articles(jobs, taxonomy_path, workers=config.workers)


@task(name="load", cache_policy=NO_CACHE)
def load_articles(
    plan: BatchPlan, outcomes: list[PageOutcome], db_path: Path
) -> tuple[dict[str, int], float]:
    """Write the batch to the warehouse in one transaction; also return the seconds it took."""
    started = time.monotonic()
    return load_plan(plan, outcomes, db_path), time.monotonic() - started


@task(name="snapshot", cache_policy=NO_CACHE)
def publish_read_snapshot(db_path: Path) -> Path:
    """Publish the read snapshot (with its search index) that analysts query without blocking the writer."""
    return publish_snapshot(db_path)


def collect_load(loaded: tuple[dict[str, int], float], counts: Counter[str], stage_s: Counter[str]) -> None:
    """Add a finished load's row counts and seconds to the run's."""
    rows, seconds = loaded
    counts.update({f"loaded_{k}": v for k, v in rows.items()})
    stage_s["load"] += seconds


def finish_ingest(
    db_path: Path, run_id: str, status: str, counts: dict[str, Any], snapshot_max_age_s: float
) -> dict[str, Any]:
    """Close the run's row and return the summary, with the decision whether to publish the read snapshot."""
    return close_run(db_path, run_id, "ingest", status, counts, snapshot_max_age_s=snapshot_max_age_s)


@flow(name="ingest", log_prints=True)
def ingest(sources: str | None = None, db: str | None = None, force_poll: bool = False) -> dict[str, Any]:
    """Poll the sources' feeds and load new articles into the DuckDB warehouse."""
    started = time.monotonic()
    config = load_config(sources)
    db_path = Path(db) if db else DEFAULT_DB
    run_id = str(flow_run.get_id() or uuid.uuid4())
    taxonomy_path = str(config.taxonomy_path) if config.taxonomy_path else None
    open_run(
        db_path,
        run_id,
        "ingest",
        {"sources": str(config.path), "db": str(db_path), "force_poll": force_poll},
        taxonomy_path,
    )
    settings = make_fetch_settings(config)
    counts: Counter[str] = Counter()
    stage_s: Counter[str] = Counter()  # seconds per stage, summed over batches; bench/ reads them from runs
    fetching = loading = None
    status = "failed"
    try:
        clock = time.monotonic()
        polled = poll_entries(config, db_path, run_id, settings, force_poll)
        counts.update(polled.counts)
        stage_s["entries"] = time.monotonic() - clock
        warm_pool(len(polled.entries), config.batch_size, taxonomy_path, config.workers)
        batches = split_batches(polled.entries, config.batch_size)
        # A pipeline of three stages, one batch each: while batch k is built on the worker processes, batch
        # k+1 is fetched and batch k-1 loaded in threads. Loads stay one at a time and in order; at most
        # three batches of pages are in memory, however long the run.
        fetching = fetch_pages.submit(batches[0], db_path, run_id, settings, config) if batches else None
        for number in range(len(batches)):
            plan, jobs, fetched, seconds = fetching.result()
            stage_s["pages"] += seconds
            counts["pages_fetched"] += fetched
            fetching = None
            if number + 1 < len(batches):
                fetching = fetch_pages.submit(batches[number + 1], db_path, run_id, settings, config)
            clock = time.monotonic()
            outcomes = build_batch_articles(jobs, config, taxonomy_path)
            stage_s["articles"] += time.monotonic() - clock
            del jobs
            if loading is not None:
                collect_load(loading.result(), counts, stage_s)
            loading = load_articles.submit(plan, outcomes, db_path)
        if loading is not None:
            collect_load(loading.result(), counts, stage_s)
            loading = None
        status = "completed"
    finally:
        for pending in (fetching, loading):
            if pending is not None:
                pending.wait()
        close_pool()
        counts.update({f"stage_s_{name}": round(seconds, 3) for name, seconds in stage_s.items()})
        counts["seconds"] = round(time.monotonic() - started, 2)
        summary = finish_ingest(db_path, run_id, status, dict(counts), config.snapshot_max_age_s)
    # A run that changed nothing analysts read keeps the published snapshot (see decide_snapshot).
    clock = time.monotonic()
    if summary["counts"]["snapshot_published"]:
        publish_read_snapshot(db_path)
    summary["snapshot_s"] = round(time.monotonic() - clock, 3)
    create_markdown_artifact(
        key="ingest-summary", markdown=render_markdown(summary), description="ingest run"
    )
    get_run_logger().info("ingest %s: %s; failures %s", status, dict(counts), summary["failures"])
    return summary
