"""The maintain flow: one upkeep pass over the lake (flush, merge, expire, clean up), recorded in `runs`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.settings.config import DEFAULT_DB, Config, load_config
from flows.stages.runlog import close_run_with_summary, current_run_id
from warehouse.db import run_transaction, write_session
from warehouse.lake import count_lake_files, maintain_lake
from warehouse.location import require_warehouse
from warehouse.migrate import apply_migrations
from warehouse.runs import begin_run

# A file in the data folder that no snapshot knows may be a commit still being written: only files older
# than this are taken for leftovers of a writer that died, and deleted.
ORPHAN_MIN_AGE = timedelta(days=1)


def load_upkeep_config(sources: str | Path | None, retention_days: float | None) -> Config:
    """The sources file's settings; `retention_days` (the flag) beats its `lake: snapshot_retention_days`."""
    overrides = None if retention_days is None else {"lake": {"snapshot_retention_days": retention_days}}
    return load_config(sources, overrides)


def maintain_warehouse(db_path: Path, retention_days: float, now: datetime | None = None) -> dict[str, Any]:
    """Run one maintenance pass on the warehouse's lake; return its counts, the files before and after."""
    now = now or datetime.now(UTC)
    started = time.monotonic()
    with write_session(db_path) as connection:
        before = count_lake_files(connection)
        upkeep = maintain_lake(
            connection,
            expire_before=now - timedelta(days=retention_days),
            orphans_before=now - ORPHAN_MIN_AGE,
        )
        after = count_lake_files(connection)
    return {
        "rows_flushed": upkeep.rows_flushed,
        "files_merged": upkeep.files_merged,
        "snapshots_expired": upkeep.snapshots_expired,
        "files_deleted": upkeep.files_deleted,
        "orphans_deleted": upkeep.orphans_deleted,
        "live_files_before": before.live_files,
        "live_files_after": after.live_files,
        "files_before": before.stored_files,
        "files_after": after.stored_files,
        "bytes_before": before.stored_bytes,
        "bytes_after": after.stored_bytes,
        "retention_days": retention_days,
        "upkeep_seconds": round(time.monotonic() - started, 2),
    }


def begin_upkeep_run(db_path: Path, run_id: str, params: dict[str, Any]) -> None:
    """Bring the schema up to date and record that the maintenance run started."""
    with write_session(db_path) as connection:
        apply_migrations(connection)
        run_transaction(connection, lambda c: begin_run(c, run_id, "maintain", params))


@task(name="lake_upkeep", cache_policy=NO_CACHE)
def upkeep_lake(db_path: Path, retention_days: float) -> dict[str, Any]:
    """Flush, merge, expire and clean up the warehouse's lake."""
    counts = maintain_warehouse(db_path, retention_days)
    get_run_logger().info("maintained %s", counts)
    return counts


@flow(name="maintain", log_prints=True)
def maintain(
    sources: str | None = None, db: str | None = None, retention_days: float | None = None
) -> dict[str, Any]:
    """Keep the lake fast and small: flush inlined rows, merge small files, expire old snapshots, clean up."""
    started = time.monotonic()
    config = load_upkeep_config(sources, retention_days)
    db_path = Path(db) if db else DEFAULT_DB
    require_warehouse(db_path)
    days = config.snapshot_retention_days
    run_id = current_run_id()
    begin_upkeep_run(db_path, run_id, {"db": str(db_path), "retention_days": days})
    counts: dict[str, Any] = {}
    status = "failed"
    try:
        counts = upkeep_lake(db_path, days)
        status = "completed"
    finally:
        summary = close_run_with_summary(db_path, run_id, "maintain", status, counts, started)
    return summary
