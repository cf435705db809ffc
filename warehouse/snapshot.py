"""The read snapshot: a copy of the live warehouse, indexed for search, that analysts may keep open."""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from warehouse.db import keep_row_groups, limit_memory, read_index_memory_limit, write_session
from warehouse.fts import build_search_index
from warehouse.migrate import read_schema_version
from warehouse.runs import count_runs_changed_since

log = logging.getLogger("newsdesk.warehouse")

SNAPSHOT_SUFFIX = ".read.duckdb"
# A run that changed nothing analysts read keeps the published snapshot, but never one older than this: the
# feeds' health (last polled, status) must not lag forever behind a long quiet spell.
DEFAULT_MAX_AGE_S = 3600.0
# Run counts that grow with every poll whether or not anything changed: they alone never call for a snapshot.
ROUTINE_LOADS = ("loaded_fetches",)
UNCHANGED = "unchanged"

StepCallback = Callable[[str], None]


def snapshot_path_for(db_path: str | Path) -> Path:
    """The snapshot published beside a live file: data/news.duckdb → data/news.read.duckdb."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.stem + SNAPSHOT_SUFFIX)


def choose_read_path(db_path: str | Path, live: bool) -> Path:
    """The file an analyst command reads: the snapshot when it exists, else (or when asked) the live file."""
    db_path = Path(db_path)
    if live or db_path.name.endswith(SNAPSHOT_SUFFIX):
        return db_path
    snapshot = snapshot_path_for(db_path)
    return snapshot if snapshot.exists() else db_path


def wal_path_for(path: Path) -> Path:
    """DuckDB's write-ahead log beside a database file."""
    return path.with_name(path.name + ".wal")


def copy_live_file(db_path: Path, target: Path, wait_s: float) -> float:
    """Checkpoint the live file and copy it under its write lock; return the seconds the lock was held."""
    if not db_path.exists():
        raise FileNotFoundError(f"no warehouse at {db_path} (run `newsdesk ingest` first)")
    with write_session(db_path, wait_s=wait_s) as connection:
        locked_at = time.monotonic()
        # After a checkpoint every committed change is in the main file, and nobody else can write while we
        # hold the lock, so a byte copy is a consistent database.
        connection.execute("CHECKPOINT")
        shutil.copyfile(db_path, target)
        wal = wal_path_for(db_path)
        if wal.exists() and wal.stat().st_size:
            shutil.copyfile(wal, wal_path_for(target))
        return time.monotonic() - locked_at


def record_snapshot_info(
    connection: duckdb.DuckDBPyConnection, db_path: Path, lock_held_s: float, indexed: int
) -> None:
    """Store when and from what the snapshot was made, so analysts can tell how fresh it is."""
    connection.execute(
        "CREATE OR REPLACE TABLE snapshot_info (published_at TIMESTAMP, live_path VARCHAR, "
        "schema_version INTEGER, indexed_articles BIGINT, lock_held_s DOUBLE)"
    )
    connection.execute(
        "INSERT INTO snapshot_info VALUES (?, ?, ?, ?, ?)",
        [
            datetime.now(UTC).replace(tzinfo=None),
            str(db_path.resolve()),
            read_schema_version(connection),
            indexed,
            round(lock_held_s, 4),
        ],
    )


def publish_snapshot(db_path: str | Path, wait_s: float = 120.0, on_step: StepCallback | None = None) -> Path:
    """Copy the live warehouse under a brief write lock, index the copy for search, and swap it in."""
    db_path = Path(db_path)
    target = snapshot_path_for(db_path)
    staging = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    step = on_step or (lambda _name: None)
    try:
        step("copy")
        lock_held_s = copy_live_file(db_path, staging, wait_s)
        step("index")
        connection = duckdb.connect(str(staging))
        try:
            # The search index over every article is the run's largest build, at its end. One thread: 490 MiB
            # of process instead of 779 at two, in the same 23-24 s (DuckDB's fts spends it in serial steps).
            # At 20,000 articles it rose 493 MiB over its base at a 256 MB cap and 325 at 128 MB, in 29-33 s.
            limit_memory(connection, read_index_memory_limit())
            keep_row_groups(connection)  # the copy's checkpoint would merge them all at once
            connection.execute("SET threads = 1")
            indexed = build_search_index(connection, previous=target)
            record_snapshot_info(connection, db_path, lock_held_s, indexed)
            connection.execute("CHECKPOINT")
        finally:
            connection.close()
        step("publish")
        stale_wal = wal_path_for(target)
        if stale_wal.exists():  # someone wrote to the old snapshot: its log must not replay onto the new one
            stale_wal.unlink()
        # Readers that have the old snapshot open keep their (now unlinked) file; new readers get this one.
        os.replace(staging, target)
    finally:
        for leftover in (staging, wal_path_for(staging)):
            if leftover.exists():
                leftover.unlink()
    log.info("published %s (%d articles indexed; write lock held %.3f s)", target, indexed, lock_held_s)
    return target


def read_snapshot_info(connection: duckdb.DuckDBPyConnection) -> dict[str, object] | None:
    """Return the snapshot's provenance row, or None for a live file."""
    exists = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'snapshot_info'"
    ).fetchone()[0]
    if not exists:
        return None
    cursor = connection.execute("SELECT * FROM snapshot_info")
    row = cursor.fetchone()
    return dict(zip([d[0] for d in cursor.description], row, strict=True)) if row else None


@dataclass(frozen=True)
class PublishedSnapshot:
    """What the published snapshot says about itself; `error` when it exists but cannot be read."""

    exists: bool
    published_at: datetime | None = None  # naive UTC, as stored
    schema_version: int | None = None
    last_run_finished_at: datetime | None = None  # the latest finished run the snapshot holds
    error: str | None = None


@dataclass(frozen=True)
class SnapshotDecision:
    """Whether a run publishes the read snapshot, and why (one word, recorded in the run's counts)."""

    publish: bool
    reason: str  # changed | missing | unreadable | schema | stale | runs_since | unchanged | run_failed

    def as_counts(self) -> dict[str, Any]:
        """The decision as run counts."""
        return {"snapshot_published": int(self.publish), "snapshot_reason": self.reason}


def read_published_snapshot(db_path: str | Path) -> PublishedSnapshot:
    """Read the provenance of the snapshot beside `db_path` (read-only, without waiting on any lock)."""
    target = snapshot_path_for(db_path)
    if not target.exists():
        return PublishedSnapshot(exists=False)
    try:
        connection = duckdb.connect(str(target), read_only=True)
    except duckdb.Error as error:
        return PublishedSnapshot(exists=True, error=" ".join(str(error).split()))
    try:
        info = read_snapshot_info(connection)
        if info is None:
            return PublishedSnapshot(exists=True, error="no snapshot_info table")
        finished = connection.execute("SELECT max(finished_at) FROM runs").fetchone()[0]
    except duckdb.Error as error:
        return PublishedSnapshot(exists=True, error=" ".join(str(error).split()))
    finally:
        connection.close()
    return PublishedSnapshot(
        exists=True,
        published_at=info.get("published_at"),
        schema_version=info.get("schema_version"),
        last_run_finished_at=finished,
    )


def count_changed_rows(counts: dict[str, Any]) -> int:
    """Rows a run loaded that analysts read: every `loaded_*` count but the routine poll ledger."""
    return sum(
        int(value)
        for key, value in counts.items()
        if key.startswith("loaded_") and key not in ROUTINE_LOADS and isinstance(value, int | float)
    )


def decide_snapshot(
    changed_rows: int,
    published: PublishedSnapshot,
    live_schema_version: int,
    runs_since: int,
    now: datetime,
    max_age_s: float = DEFAULT_MAX_AGE_S,
) -> SnapshotDecision:
    """Publish when the run changed rows, the snapshot is missing, unreadable, from an older schema, older
    than `max_age_s`, or behind other runs that finished since; otherwise keep the one that is there."""
    if changed_rows > 0:
        return SnapshotDecision(True, "changed")
    if not published.exists:
        return SnapshotDecision(True, "missing")
    if published.error is not None or published.published_at is None:
        return SnapshotDecision(True, "unreadable")
    if published.schema_version is None or published.schema_version < live_schema_version:
        return SnapshotDecision(True, "schema")
    if (now - published.published_at).total_seconds() >= max_age_s:
        return SnapshotDecision(True, "stale")
    if runs_since > 0:
        return SnapshotDecision(True, "runs_since")
    return SnapshotDecision(False, UNCHANGED)


def plan_snapshot(
    connection: duckdb.DuckDBPyConnection,
    db_path: str | Path,
    run_id: str,
    changed_rows: int,
    max_age_s: float = DEFAULT_MAX_AGE_S,
) -> SnapshotDecision:
    """Decide, inside the session that closes run `run_id`, whether its end should publish the snapshot."""
    published = read_published_snapshot(db_path) if changed_rows <= 0 else PublishedSnapshot(exists=True)
    runs_since = 0
    if changed_rows <= 0 and published.exists and published.error is None:
        runs_since = count_runs_changed_since(connection, published.last_run_finished_at, run_id, UNCHANGED)
    return decide_snapshot(
        changed_rows,
        published,
        read_schema_version(connection),
        runs_since,
        datetime.now(UTC).replace(tzinfo=None),
        max_age_s,
    )
