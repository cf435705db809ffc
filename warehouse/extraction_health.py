"""Extraction health: the per-source counts the drift check weighs, and the alarms it raises."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import duckdb

from transforms.drift import BASELINE_DAYS, DriftAlarm, SourceCounts
from warehouse.load import insert_rows
from warehouse.sql import read_sql


def select_drift_counts(
    connection: duckdb.DuckDBPyConnection, run_id: str, now: datetime
) -> list[SourceCounts]:
    """Per source, this run's pages and failures and those of the trailing BASELINE_DAYS."""
    since = now - timedelta(days=BASELINE_DAYS)
    cursor = connection.execute(read_sql("select_extraction_drift"), {"run_id": run_id, "since": since})
    return [SourceCounts(*row) for row in cursor.fetchall()]


def record_alarms(
    connection: duckdb.DuckDBPyConnection, alarms: list[DriftAlarm], run_id: str, now: datetime
) -> int:
    """Append the run's alarms to extraction_alarms."""
    rows = [
        {"run_id": run_id, "source": alarm.source, "flagged_at": now, "pages": alarm.pages,
         "failed_share": alarm.failed_share, "baseline_pages": alarm.baseline_pages,
         "baseline_share": alarm.baseline_share}
        for alarm in alarms
    ]
    return insert_rows(connection, "extraction_alarms", rows)


def select_recent_alarms(connection: duckdb.DuckDBPyConnection, now: datetime) -> dict[str, dict[str, Any]]:
    """The latest alarm of each source raised within the baseline window, by source."""
    since = now - timedelta(days=BASELINE_DAYS)
    cursor = connection.execute(read_sql("select_recent_extraction_alarms"), {"since": since})
    names = [column[0] for column in cursor.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
