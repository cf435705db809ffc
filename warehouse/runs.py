"""The `runs` table: one row per flow run with its parameters, counts and failures."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb

from warehouse.clock import now_utc


def begin_run(connection: duckdb.DuckDBPyConnection, run_id: str, flow: str, params: dict[str, Any]) -> None:
    """Record that a run started."""
    connection.execute(
        "INSERT INTO runs (run_id, flow, params, started_at, status) VALUES (?, ?, ?, ?, 'running') "
        "ON CONFLICT (run_id) DO UPDATE SET started_at = excluded.started_at, status = 'running'",
        [run_id, flow, json.dumps(params, default=str, sort_keys=True), now_utc()],
    )


def finish_run(
    connection: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    counts: dict[str, Any],
    failures: dict[str, int],
) -> None:
    """Record how a run ended."""
    connection.execute(
        "UPDATE runs SET finished_at = ?, status = ?, counts = ?, failures = ? WHERE run_id = ?",
        [now_utc(), status, json.dumps(counts, sort_keys=True), json.dumps(failures, sort_keys=True), run_id],
    )


def count_failures_by_reason(connection: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """Group a run's failures by stage and reason."""
    rows = connection.execute(
        "SELECT stage || ':' || reason, count(*) FROM failures WHERE run_id = ? "
        "GROUP BY ALL ORDER BY 2 DESC, 1",
        [run_id],
    ).fetchall()
    return dict(rows)


def count_runs_changed_since(
    connection: duckdb.DuckDBPyConnection, finished_after: datetime | None, run_id: str, unchanged_reason: str
) -> int:
    """Runs other than `run_id` that finished after `finished_after` (any, when None) and may have changed
    data: all but those that recorded `snapshot_reason` = `unchanged_reason` (nothing to publish)."""
    return connection.execute(
        "SELECT count(*) FROM runs WHERE run_id <> $run_id AND finished_at IS NOT NULL "
        "AND (CAST($after AS TIMESTAMP) IS NULL OR finished_at > CAST($after AS TIMESTAMP)) "
        "AND json_extract_string(counts, '$.snapshot_reason') IS DISTINCT FROM $unchanged",
        {"run_id": run_id, "after": finished_after, "unchanged": unchanged_reason},
    ).fetchone()[0]
