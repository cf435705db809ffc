"""The ingest flow: poll feeds → fetch new pages → build articles → load, in batches."""

from __future__ import annotations

import resource
import time
import uuid
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from flows.articles import (
    POOL_THRESHOLD,
    PageJob,
    PageOutcome,
    build_articles,
    close_pool,
    release_free_memory,
    start_pool_server,
    tune_heap,
    warm_pool,
)
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
from flows.extraction_check import check_extraction_drift
from flows.fetch import FetchSettings, fetch_batch
from flows.poll import PollResult, poll_feeds
from flows.runlog import close_run, open_run
from flows.summary import render_markdown
from transforms.records import FeedEntry
from warehouse.db import WarehouseBusy, read_session
from warehouse.page_files import use_system_arrow_pool
from warehouse.runs import read_last_ingest_pages
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
) -> tuple[BatchPlan, list[PageJob], int, tuple[float, float]]:
    """Plan a batch (skipping known URLs) and fetch it, each body compressed as it arrives; also timed."""
    clock = StageClock()
    plan = plan_batch(entries, db_path, run_id)
    packed: dict[str, PackedBody] = {}
    results = fetch_batch(plan.requests, settings, finish=make_page_packer(packed))
    jobs = collect_pages(plan, results, config, packed, defer_to_pending=True)
    sent = sum(1 for result in results if result.error_class != "deferred")
    return plan, jobs, sent, clock.read()


@task(name="articles", cache_policy=NO_CACHE)
def build_batch_articles(jobs: list[PageJob], config: Config, taxonomy_path: str | None) -> list[PageOutcome]:
    """Extract, clean, hash and tag the batch's pages."""
    return build_articles(jobs, taxonomy_path, workers=config.workers, scheduler=config.dask_scheduler)


@task(name="load", cache_policy=NO_CACHE)
def load_articles(
    plan: BatchPlan, outcomes: list[PageOutcome], db_path: Path
) -> tuple[dict[str, int], tuple[float, float]]:
    """Write the batch to the warehouse in one transaction; also return its wall and CPU seconds."""
    clock = StageClock()
    rows = load_plan(plan, outcomes, db_path)
    # A load's Arrow tables and DuckDB session leave free holes all over the C heap, which glibc keeps:
    # trimmed after each load, the ingest process peaked at 524 MiB instead of 532-537 (20,000 pages).
    release_free_memory()
    return rows, clock.read()


@task(name="snapshot", cache_policy=NO_CACHE)
def publish_read_snapshot(db_path: Path) -> Path:
    """Publish the read snapshot (with its search index) that analysts query without blocking the writer."""
    return publish_snapshot(db_path)


class StageClock:
    """Wall seconds and this thread's CPU seconds since the clock was made."""

    def __init__(self) -> None:
        self.wall_started, self.cpu_started = time.monotonic(), time.thread_time()

    def read(self) -> tuple[float, float]:
        """(wall seconds, CPU seconds of the calling thread) since the start."""
        return time.monotonic() - self.wall_started, time.thread_time() - self.cpu_started


def add_stage_time(
    name: str, clocked: tuple[float, float], stage_s: Counter[str], cpu_s: Counter[str]
) -> None:
    """Add a stage's wall and thread-CPU seconds to the run's."""
    stage_s[name] += clocked[0]
    cpu_s[name] += clocked[1]


def collect_load(
    loaded: tuple[dict[str, int], tuple[float, float]],
    counts: Counter[str],
    stage_s: Counter[str],
    cpu_s: Counter[str],
) -> None:
    """Add a finished load's row counts and seconds to the run's."""
    rows, clocked = loaded
    counts.update({f"loaded_{k}": v for k, v in rows.items()})
    add_stage_time("load", clocked, stage_s, cpu_s)


def expects_pool(db_path: Path) -> bool:
    """Whether this run will likely fetch enough pages for the worker pool: the warehouse is new, or has had
    no ingest, or its last one fetched that many (a run is taken to look like the last one)."""
    if not db_path.exists():
        return True
    try:
        with read_session(db_path, wait_s=0) as connection:
            pages = read_last_ingest_pages(connection)
    except (duckdb.Error, WarehouseBusy):
        return False  # busy or not a warehouse yet: decide after polling, as without a history
    return pages is None or pages >= POOL_THRESHOLD


def children_cpu_s() -> float:
    """User and system CPU seconds of this process's ended (waited-for) child processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def finish_ingest(
    db_path: Path, run_id: str, status: str, counts: dict[str, Any], snapshot_max_age_s: float
) -> dict[str, Any]:
    """Close the run's row and return the summary, with the decision whether to publish the read snapshot."""
    return close_run(db_path, run_id, "ingest", status, counts, snapshot_max_age_s=snapshot_max_age_s)


@flow(name="ingest", log_prints=True)
def ingest(sources: str | None = None, db: str | None = None, force_poll: bool = False) -> dict[str, Any]:
    """Poll the sources' feeds and load new articles into the DuckDB warehouse."""
    started = time.monotonic()
    cpu_started = time.process_time(), children_cpu_s()
    tune_heap()  # page bodies otherwise fragment the C heap (flows/articles.py)
    use_system_arrow_pool()
    config = load_config(sources)
    db_path = Path(db) if db else DEFAULT_DB
    run_id = str(flow_run.get_id() or uuid.uuid4())
    taxonomy_path = str(config.taxonomy_path) if config.taxonomy_path else None
    if not config.dask_scheduler and expects_pool(db_path):
        # The workers' state takes ~1.7 s to make: made while the run opens and polls, not after.
        start_pool_server(config.workers, taxonomy_path)
    open_run(
        db_path,
        run_id,
        "ingest",
        {"sources": str(config.path), "db": str(db_path), "force_poll": force_poll},
        taxonomy_path,
        keep_matcher=False,  # the worker processes tag; this one only lists the topics
    )
    settings = make_fetch_settings(config)
    counts: Counter[str] = Counter()
    stage_s: Counter[str] = Counter()  # seconds per stage, summed over batches; bench/ reads them from runs
    cpu_s: Counter[str] = Counter()  # CPU seconds of the thread that ran each stage, summed over batches
    fetching = loading = None
    status = "failed"
    try:
        clock = StageClock()
        polled = poll_entries(config, db_path, run_id, settings, force_poll)
        counts.update(polled.counts)
        add_stage_time("entries", clock.read(), stage_s, cpu_s)
        pages, workers = len(polled.entries), config.workers
        batches = split_batches(polled.entries, config.batch_size)
        # The batches hold the entries now, and each lets go of its own once fetched. Prefect keeps the poll
        # task's result (this PollResult) until the flow ends: emptied, it no longer keeps all the entries.
        polled.entries = []
        # A pipeline of three stages, one batch each: while batch k is built on the worker processes, batch
        # k+1 is fetched and batch k-1 loaded in threads. Loads stay one at a time and in order; at most
        # three batches of pages are in memory, however long the run. Batch data goes to the tasks quoted:
        # otherwise Prefect walks every row, page and tag of it looking for futures (a quarter of this
        # process's CPU before).
        quoted_config = quote(config)
        fetching = None
        if batches:
            fetching = fetch_pages.submit(quote(batches[0]), db_path, run_id, settings, quoted_config)
        # The first batch is fetched while the workers start. A Dask cluster's workers are running already;
        # a fork server started for a run that has too few pages for the pool leaves now.
        if not config.dask_scheduler and not warm_pool(pages, config.batch_size, taxonomy_path, workers):
            close_pool()
        for number in range(len(batches)):
            plan, jobs, fetched, clocked = fetching.result()
            batches[number] = []  # fetched: the plan keeps what the load needs of its entries
            add_stage_time("pages", clocked, stage_s, cpu_s)
            counts["pages_fetched"] += fetched
            counts["pages_deferred"] += len(plan.deferred)  # left pending: their host's Retry-After
            fetching = None
            if number + 1 < len(batches):
                fetching = fetch_pages.submit(
                    quote(batches[number + 1]), db_path, run_id, settings, quoted_config
                )
            clock = StageClock()
            outcomes = build_batch_articles(quote(jobs), quoted_config, taxonomy_path)
            add_stage_time("articles", clock.read(), stage_s, cpu_s)
            del jobs
            if loading is not None:
                collect_load(loading.result(), counts, stage_s, cpu_s)
            loading = load_articles.submit(quote(plan), quote(outcomes), db_path)
        if loading is not None:
            collect_load(loading.result(), counts, stage_s, cpu_s)
            loading = None
        status = "completed"
    finally:
        for pending in (fetching, loading):
            if pending is not None:
                pending.wait()
        close_pool()
        counts.update({f"stage_s_{name}": round(seconds, 3) for name, seconds in stage_s.items()})
        counts.update({f"cpu_s_{name}": round(seconds, 3) for name, seconds in cpu_s.items()})
        counts["seconds"] = round(time.monotonic() - started, 2)
        # CPU of this process (all its threads) and of the worker processes ended by close_pool: on a busy
        # machine they measure the pipeline's own cost better than its wall seconds.
        counts["cpu_s_ingest_process"] = round(time.process_time() - cpu_started[0], 2)
        counts["cpu_s_workers"] = round(children_cpu_s() - cpu_started[1], 2)
        alarms = check_extraction_drift(db_path, run_id) if status == "completed" else []
        counts["extraction_alarms"] = len(alarms)
        summary = finish_ingest(db_path, run_id, status, dict(counts), config.snapshot_max_age_s)
        summary["extraction_alarms"] = alarms
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
