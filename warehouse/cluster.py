"""What the lake says about the sharded ingest: each shard's latest run and its last completed one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.db import open_warehouse
from warehouse.sql import read_sql


@dataclass(frozen=True)
class ShardRun:
    """A shard's latest ingest run as the lake's `runs` view holds it (times naive UTC)."""

    shard: str
    run_id: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    pages: int | None
    failures: int
    completed_at: datetime | None  # when the shard's latest completed run ended


def count_failures(failures_json: str | None) -> int:
    """The number of failures a run recorded (its `failures` JSON maps stage:reason to a count)."""
    if not failures_json:
        return 0
    by_reason = json.loads(failures_json)
    return sum(int(value) for value in by_reason.values()) if isinstance(by_reason, dict) else 0


def select_shard_runs(connection: duckdb.DuckDBPyConnection) -> list[ShardRun]:
    """Each shard's latest ingest run, with the end of its latest completed one."""
    rows = connection.execute(read_sql("cluster_shard_runs")).fetchall()
    return [
        ShardRun(shard, run_id, status, started, finished, pages, count_failures(failures), completed)
        for shard, run_id, status, started, finished, pages, failures, completed in rows
    ]


def read_shard_runs(db: str | Path) -> list[ShardRun]:
    """Each shard's latest ingest run in the warehouse `db` names (attached read-only)."""
    with open_warehouse(db, read_only=True) as connection:
        return select_shard_runs(connection)
