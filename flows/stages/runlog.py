"""Run bookkeeping shared by the backfill, replay and retag flows: runs rows, failure settling, summaries."""

from __future__ import annotations

import gc
import logging
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from prefect.artifacts import create_markdown_artifact
from prefect.exceptions import PrefectException
from prefect.runtime import flow_run

from flows.settings.config import Config
from flows.stages.ended_runs import close_runs_prefect_ended
from flows.stages.matchers import get_matcher, load_or_compile_matcher, load_taxonomy
from transforms.topic_matcher import TopicMatcher, list_topic_rows
from transforms.urls import registered_site_of
from warehouse.band_index import ready_index
from warehouse.db import Connection, run_transaction, write_session
from warehouse.failures import settle_retried_failures
from warehouse.migrate import apply_migrations
from warehouse.runs import begin_run, count_failures_by_reason, finish_run
from warehouse.topics import has_topics, store_topics

LOGGER = logging.getLogger(__name__)
_FROZEN_MATCHERS: set[int] = set()  # ids of matchers already frozen (get_matcher keeps them alive)


def current_run_id() -> str:
    """The Prefect flow run id, or a fresh UUID outside a run."""
    return str(flow_run.get_id() or uuid.uuid4())


def scheduled_time() -> datetime:
    """When this flow run was scheduled to start (naive UTC), so catch-up runs act for their own slot."""
    scheduled = flow_run.scheduled_start_time if flow_run.get_id() else None
    if scheduled is None:
        return datetime.now(UTC).replace(tzinfo=None)
    moment = datetime.fromisoformat(scheduled.isoformat())  # a plain datetime, whatever Prefect hands out
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def freeze_long_lived(matcher: TopicMatcher) -> None:
    """Take the objects alive now (the topic matcher, Prefect's modules) out of the cyclic collector's reach,
    once per matcher: a full collection would walk its few hundred thousand objects again and again, a
    pause of 0.2-0.8 s that can land in any run of a long-lived process. Freed objects are still freed."""
    if id(matcher) in _FROZEN_MATCHERS:
        return
    _FROZEN_MATCHERS.add(id(matcher))
    gc.freeze()


def open_run(
    db_path: Path,
    run_id: str,
    flow_name: str,
    params: dict[str, Any],
    taxonomy_path: str | None = None,
    keep_matcher: bool = True,
) -> None:
    """Record that the run started (record_run_start), then close earlier runs that Prefect saw end but that
    could not close their own row."""
    record_run_start(db_path, run_id, flow_name, params, taxonomy_path, keep_matcher)
    try:
        closed = close_runs_prefect_ended(db_path, run_id)
    except (httpx.HTTPError, PrefectException, OSError) as error:  # housekeeping: never fails the run
        LOGGER.warning("could not ask Prefect about runs left open: %s", error)
        return
    if closed:
        LOGGER.warning("closed %d run(s) left open after Prefect saw them end: %s", len(closed), closed)


def record_run_start(
    db_path: Path,
    run_id: str,
    flow_name: str,
    params: dict[str, Any],
    taxonomy_path: str | None = None,
    keep_matcher: bool = True,
) -> None:
    """Migrate the warehouse, store the taxonomy's topics and record that the run started. With
    `keep_matcher=False` the topics come from a matcher this process drops (its workers do all the tagging),
    and only when the warehouse does not hold this taxonomy version's topics yet."""
    if keep_matcher:
        matcher = get_matcher(taxonomy_path)
        freeze_long_lived(matcher)
        rows = list_topic_rows(matcher)
    else:
        version = load_taxonomy(taxonomy_path).version  # the file alone: no gazetteer, no matcher
        with write_session(db_path) as connection:
            apply_migrations(connection)
            ready_index(connection)  # built here, not by the first batch's load
            if has_topics(connection, version):  # the usual case: a run with the taxonomy of the last one
                run_transaction(connection, lambda c: begin_run(c, run_id, flow_name, params))
                return
        rows = list_topic_rows_once(taxonomy_path)  # outside the write lock: a cold matcher takes seconds
    with write_session(db_path) as connection:
        apply_migrations(connection)
        ready_index(connection)
        run_transaction(connection, lambda c: start_run_rows(c, rows, run_id, flow_name, params))


def start_run_rows(
    connection: Connection, rows: list[dict], run_id: str, flow_name: str, params: dict[str, Any]
) -> None:
    """The taxonomy's topics (those not stored yet) and the run's first row, in the caller's transaction."""
    store_topics(connection, rows)
    begin_run(connection, run_id, flow_name, params)


def list_topic_rows_once(taxonomy_path: str | None = None) -> list[dict]:
    """The taxonomy's topic rows, from a matcher (read from its disk cache) this process does not keep."""
    # The ingest process tags nothing (its workers do): keeping the matcher would hold ~30 MB all run long.
    return list_topic_rows(load_or_compile_matcher(load_taxonomy(taxonomy_path)))


def close_run(
    db_path: Path,
    run_id: str,
    flow_name: str,
    status: str,
    counts: dict[str, Any],
    failures: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Record how the run ended, and the lake snapshot its writes reached, and return its summary: failures
    None are counted from the run's failure rows."""
    with write_session(db_path) as connection:
        if failures is None:
            failures = count_failures_by_reason(connection, run_id)
        snapshot = run_transaction(connection, lambda c: finish_run(c, run_id, status, counts, failures))
    return {
        "run_id": run_id,
        "flow": flow_name,
        "status": status,
        "counts": counts,
        "failures": failures,
        "lake_snapshot": snapshot,
    }


def map_source_values(config: Config | None, attribute: str) -> dict[str, str]:
    """A feed attribute (country, language) per feed URL and per registered site, from the sources file."""
    values: dict[str, str] = {}
    for feed in config.feeds if config else ():
        value = getattr(feed, attribute)
        if value:
            values[feed.url] = value
            values.setdefault(registered_site_of(feed.url), value)
    return values


def count_failure_rows(rows: list[dict[str, Any]]) -> Counter[str]:
    """Failure rows grouped as `stage:reason`."""
    return Counter(f"{row['stage']}:{row['reason']}" for row in rows)


def failure_key(row: dict[str, Any]) -> str:
    """The item a failure row is about: its URL, or its archive and offset (as the settling SQL says)."""
    if row.get("url"):
        return row["url"]
    offset = (row.get("retry") or {}).get("offset")
    return f"{row.get('feed_url')}#{'' if offset is None else offset}"


def settle_failures(db_path: Path, run_id: str, retried_keys: list[str] | None = None) -> None:
    """Close failures of retried items that did not fail again the same way; drop this run's repeats."""
    with write_session(db_path) as connection:
        run_transaction(connection, lambda c: settle_retried_failures(c, run_id, retried_keys))


def close_run_with_summary(
    db_path: Path, run_id: str, flow_name: str, status: str, counts: dict[str, Any], started: float
) -> dict[str, Any]:
    """Close a run that keeps no failure rows (retag, maintain): its seconds, runs row, summary artifact."""
    counts["seconds"] = round(time.monotonic() - started, 2)
    summary = close_run(db_path, run_id, flow_name, status, counts, {})
    create_markdown_artifact(
        key=f"{flow_name}-summary", markdown=render_run_markdown(summary), description=f"{flow_name} run"
    )
    return summary


def render_run_markdown(summary: dict[str, Any], title: str | None = None) -> str:
    """A run summary (counts, then failures by reason) as a Markdown table."""
    heading = title or f"{summary.get('flow')} run `{summary.get('run_id')}`: {summary.get('status')}"
    lines = [f"## {heading}", "", "| what | count |", "|---|---|"]
    lines.extend(
        f"| {key.replace('_', ' ')} | {value} |" for key, value in sorted(summary.get("counts", {}).items())
    )
    lines.extend(f"| failed: {reason} | {number} |" for reason, number in summary.get("failures", {}).items())
    return "\n".join(lines) + "\n"
