"""The `runs` table: one row per flow run with its parameters, counts and failures."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from warehouse.clock import now_utc
from warehouse.lake import current_catalog, current_snapshot
from warehouse.sql import read_sql


def begin_run(connection: duckdb.DuckDBPyConnection, run_id: str, flow: str, params: dict[str, Any]) -> None:
    """Record that a run started."""
    connection.execute(
        read_sql("insert_run_start"),
        {
            "run_id": run_id,
            "flow": flow,
            "params": json.dumps(params, default=str, sort_keys=True),
            "now": now_utc(),
        },
    )


def finish_run(
    connection: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    counts: dict[str, Any],
    failures: dict[str, int],
) -> int:
    """Record how a run ended and the lake snapshot its writes reached; return that snapshot."""
    snapshot = current_snapshot(connection, current_catalog(connection))
    connection.execute(
        read_sql("insert_run_end"),
        {
            "run_id": run_id,
            "status": status,
            "counts": json.dumps(counts, sort_keys=True),
            "failures": json.dumps(failures, sort_keys=True),
            "snapshot": snapshot,
            "now": now_utc(),
        },
    )
    return snapshot


def list_open_runs(connection: duckdb.DuckDBPyConnection, run_id: str) -> list[str]:
    """Ids of the runs still marked running, other than `run_id`."""
    return [row[0] for row in connection.execute(read_sql("select_open_runs"), {"run_id": run_id}).fetchall()]


def close_ended_runs(connection: duckdb.DuckDBPyConnection, ended: dict[str, str], settled_by: str) -> None:
    """Close runs the orchestrator saw end (status by run id) but that could not record it themselves."""
    for run_id, status in sorted(ended.items()):
        connection.execute(
            read_sql("insert_run_end"),
            {
                "run_id": run_id,
                "status": status,
                "counts": json.dumps({"closed_by_run": settled_by}),
                "failures": "{}",
                "snapshot": None,
                "now": now_utc(),
            },
        )


def count_failures_by_reason(connection: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """Group a run's failures by stage and reason."""
    rows = connection.execute(
        "SELECT stage || ':' || reason, count(*) FROM failures WHERE run_id = ? "
        "GROUP BY ALL ORDER BY 2 DESC, 1",
        [run_id],
    ).fetchall()
    return dict(rows)
