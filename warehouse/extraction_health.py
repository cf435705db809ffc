"""Extraction health: the per-source counts the drift check weighs, and the alarms it raises."""

from __future__ import annotations

from datetime import datetime, timedelta

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


def select_feed_alarm_notes(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """A one-line note per feed whose site was flagged in the last 14 days ({} on a warehouse before 0009)."""
    try:
        rows = connection.execute(
            "SELECT feed_url, flagged_at, failed_share, baseline_share FROM feed_extraction_alarms"
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    return {
        feed_url: f"drift {flagged:%Y-%m-%d}: {failed:.0%} empty or short (baseline {baseline:.0%})"
        for feed_url, flagged, failed, baseline in rows
    }
