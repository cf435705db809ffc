"""The failure ledger: the open failures a replay retries, and settling them once their items were retried."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.arrow_rows import dict_rows
from warehouse.clock import now_utc, utc_naive
from warehouse.feeds import registered
from warehouse.sql import read_sql


def select_open_failures(
    connection: duckdb.DuckDBPyConnection, since: datetime | None
) -> list[dict[str, Any]]:
    """Open failures (those recorded since `since`, when given), oldest first, their retry JSON decoded."""
    rows = dict_rows(connection.execute(read_sql("select_open_failures"), {"since": utc_naive(since)}))
    for row in rows:
        row["retry"] = json.loads(row["retry"]) if row["retry"] else {}
    return rows


def count_open_failures(connection: duckdb.DuckDBPyConnection) -> int:
    """How many failures are not resolved yet."""
    return connection.execute(read_sql("count_open_failures")).fetchone()[0]


def settle_retried_failures(
    connection: duckdb.DuckDBPyConnection, run_id: str, retried_keys: list[str] | None = None
) -> None:
    """Close the open failures of retried items that `run_id` did not fail again the same way (an item is its
    URL, or its archive and offset), then drop the run's rows that repeat a failure still open."""
    if retried_keys:
        table = pa.table({"item_key": pa.array(sorted(set(retried_keys)), pa.string())})
        with registered(connection, "retried_items", table):
            parameters = {"run_id": run_id, "resolved_at": now_utc()}
            connection.execute(read_sql("close_retried_failures"), parameters)
    connection.execute(read_sql("drop_repeated_failures"), {"run_id": run_id})
