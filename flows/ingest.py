"""The ingest flow: poll feeds → fetch new pages → build articles → load, in batches."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from flows.http.fetch import FetchSettings, fetch_batch
from flows.settings.config import DEFAULT_DB, Config, load_config
from flows.stages.articles import PageJob, PageOutcome, build_articles, close_pool, start_workers_early
from flows.stages.batches import (
    BatchPlan,
    PackedBody,
    collect_pages,
    load_plan,
    make_page_packer,
    plan_batch,
    split_batches,
)
from flows.stages.extraction_check import check_extraction_drift
from flows.stages.poll import PollResult, poll_feeds
from flows.stages.runlog import close_run, open_run
from flows.stages.site_lines import read_site_lines
from flows.stages.summary import render_markdown
from transforms.records import FeedEntry
from transforms.shards import Shard, parse_shard
from warehouse.page_files import use_system_arrow_pool


@dataclass
class FetchedBatch:
    """A batch's plan, the pages to build articles from, their sites' boilerplate lines, how many requests
    went out, and its wall seconds."""

    plan: BatchPlan
    jobs: list[PageJob]
    site_lines: dict[str, frozenset[int]]
    sent: int
    seconds: float


@task(name="entries", cache_policy=NO_CACHE)
def poll_entries(
    config: Config, db_path: Path, run_id: str, settings: FetchSettings, force: bool, shard: Shard | None
) -> PollResult:
    """Poll due feeds (of the shard, given one) and return the entries the warehouse has not seen."""
    result = poll_feeds(config, db_path, run_id, settings, force=force, shard=shard)
    get_run_logger().info("polled %s", result.counts)
    return result


@task(name="pages", cache_policy=NO_CACHE)
def fetch_pages(entries: list[FeedEntry], db_path: Path, run_id: str, config: Config) -> FetchedBatch:
    """Plan a batch (skipping known URLs) and fetch it, each body compressed as it arrives; read its sites'
    boilerplate lines here, while the batch before is built, not on the articles stage's clock."""
    started = time.monotonic()
    plan = plan_batch(entries, db_path, run_id)
    packed: dict[str, PackedBody] = {}
    results = fetch_batch(plan.requests, config.fetch, finish=make_page_packer(packed))
    jobs = collect_pages(plan, results, config, packed, defer_to_pending=True)
    sent = sum(1 for result in results if result.error_class != "deferred")
    return FetchedBatch(plan, jobs, read_site_lines(db_path, jobs), sent, time.monotonic() - started)


@task(name="articles", cache_policy=NO_CACHE)
def build_batch_articles(
    jobs: list[PageJob], config: Config, taxonomy_path: str | None, site_lines: dict[str, frozenset[int]]
) -> list[PageOutcome]:
    """Extract, clean, hash and tag the batch's pages (their sites' boilerplate lines dropped)."""
    return build_articles(jobs, taxonomy_path, workers=config.workers, site_lines=site_lines)


@task(name="load", cache_policy=NO_CACHE)
def load_articles(
    plan: BatchPlan, outcomes: list[PageOutcome], db_path: Path
) -> tuple[dict[str, int], float]:
    """Write the batch to the warehouse in one transaction; also return its wall seconds."""
    started = time.monotonic()
    return load_plan(plan, outcomes, db_path), time.monotonic() - started


def add_fetched(fetched: FetchedBatch, counts: Counter[str]) -> None:
    """Add a fetched batch's counts and seconds to the run's."""
    counts["pages_fetched"] += fetched.sent
    counts["pages_deferred"] += len(fetched.plan.deferred)  # left pending: their host's Retry-After
    counts["stage_s_pages"] += fetched.seconds


def add_loaded(loaded: tuple[dict[str, int], float], counts: Counter[str]) -> None:
    """Add a finished load's row counts and seconds to the run's."""
    rows, seconds = loaded
    counts.update({f"loaded_{name}": value for name, value in rows.items()})
    counts["stage_s_load"] += seconds


def run_batches(
    batches: list[list[FeedEntry]], config: Config, db_path: Path, run_id: str, counts: Counter[str]
) -> None:
    """Each batch: fetch pages → build articles → load; batch k+1 is fetched, k-1 loaded, while k is built."""
    # Batch data goes to tasks quoted, or Prefect walks every row of it looking for futures.
    taxonomy_path = str(config.taxonomy_path) if config.taxonomy_path else None
    fetching = fetch_pages.submit(quote(batches[0]), db_path, run_id, quote(config)) if batches else None
    loading = None
    try:
        for number in range(len(batches)):
            fetched = fetching.result()
            batches[number] = []  # fetched: its plan keeps what the load needs of the entries
            add_fetched(fetched, counts)
            fetching = None
            if number + 1 < len(batches):
                fetching = fetch_pages.submit(quote(batches[number + 1]), db_path, run_id, quote(config))
            started = time.monotonic()
            outcomes = build_batch_articles(
                quote(fetched.jobs), quote(config), taxonomy_path, quote(fetched.site_lines)
            )
            counts["stage_s_articles"] += time.monotonic() - started
            if loading is not None:
                add_loaded(loading.result(), counts)
            loading = load_articles.submit(quote(fetched.plan), quote(outcomes), db_path)
            del fetched
        if loading is not None:
            add_loaded(loading.result(), counts)
            loading = None
    finally:
        for pending in (fetching, loading):
            if pending is not None:
                pending.wait()


def finish_ingest(db_path: Path, run_id: str, status: str, counts: Counter[str]) -> dict[str, Any]:
    """Check extraction drift, close the run's row and return its summary."""
    for name in [name for name in counts if name.startswith("stage_s_")]:
        counts[name] = round(counts[name], 3)
    alarms = check_extraction_drift(db_path, run_id) if status == "completed" else []
    counts["extraction_alarms"] = len(alarms)
    summary = close_run(db_path, run_id, "ingest", status, dict(counts))
    summary["extraction_alarms"] = alarms
    return summary


@flow(name="ingest", log_prints=True)
def ingest(
    sources: str | None = None, db: str | None = None, force_poll: bool = False, shard: str | None = None
) -> dict[str, Any]:
    """Poll the sources' feeds (those of one shard, `K/N`, given one) and load new articles into the
    warehouse."""
    started = time.monotonic()
    use_system_arrow_pool()
    config = load_config(sources)
    start_workers_early(config.workers)
    part = parse_shard(shard) if shard else None
    db_path = Path(db) if db else DEFAULT_DB
    run_id = str(flow_run.get_id() or uuid.uuid4())
    params = {"sources": str(config.path), "db": str(db_path), "force_poll": force_poll, "shard": shard}
    taxonomy_path = str(config.taxonomy_path) if config.taxonomy_path else None
    open_run(db_path, run_id, "ingest", params, taxonomy_path, keep_matcher=False)  # the workers tag
    counts: Counter[str] = Counter()  # stage_s_* sum each stage's seconds over batches: bench/ reads them
    status = "failed"
    try:
        polling_started = time.monotonic()
        polled = poll_entries(config, db_path, run_id, config.fetch, force_poll, part)
        counts.update(polled.counts)
        counts["stage_s_entries"] = time.monotonic() - polling_started
        batches = split_batches(polled.entries, config.batch_size)
        polled.entries = []  # Prefect keeps the poll's result until the flow ends: the batches hold them
        run_batches(batches, config, db_path, run_id, counts)
        status = "completed"
    finally:
        close_pool()
        counts["seconds"] = round(time.monotonic() - started, 2)
        summary = finish_ingest(db_path, run_id, status, counts)
    create_markdown_artifact(
        key="ingest-summary", markdown=render_markdown(summary), description="ingest run"
    )
    get_run_logger().info("ingest %s: %s; failures %s", status, dict(counts), summary["failures"])
    return summary
