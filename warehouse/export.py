"""Incremental Parquet export, Hive-partitioned by published date, readable by DuckDB, polars and Spark."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from warehouse.sql import read_sql

EXPORT_TABLES = ("articles", "article_topics", "duplicates")
PARTITION_COLUMN = "published_date"
PART_FILE = "part-0.parquet"
STATE_FILE = "_newsdesk_export.json"
STATE_FORMAT = 1
DAYS_PER_QUERY = 31  # bounds memory: one month of full article text at a time

ProgressCallback = Callable[[str, int, int], None]  # table, days done, days to write


class ExportError(RuntimeError):
    """The export folder cannot be used."""


@dataclass
class TableExport:
    """What one table's export did."""

    written_days: list[date] = field(default_factory=list)
    unchanged_days: int = 0
    removed_days: list[date] = field(default_factory=list)
    rows_written: int = 0
    rows_total: int = 0


def partition_dir(out_dir: Path, table: str, day: date) -> Path:
    """The Hive partition folder of one table and day."""
    return out_dir / table / f"{PARTITION_COLUMN}={day.isoformat()}"


def read_state(out_dir: Path) -> dict[str, dict[str, str]]:
    """Per table, the fingerprint of every day already exported (empty for a new folder)."""
    path = out_dir / STATE_FILE
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ExportError(f"{path} is not valid JSON ({error}); delete it to export all again") from error
    if document.get("format") != STATE_FORMAT:
        raise ExportError(f"{path} has an unknown format; delete it to export everything again")
    return document["tables"]


def write_state(out_dir: Path, state: dict[str, dict[str, str]]) -> None:
    """Save the export state atomically."""
    path = out_dir / STATE_FILE
    staging = path.with_name(path.name + ".tmp")
    staging.write_text(
        json.dumps({"format": STATE_FORMAT, "tables": state}, indent=1, sort_keys=True), encoding="utf-8"
    )
    os.replace(staging, path)


def fingerprint_days(connection: duckdb.DuckDBPyConnection, table: str) -> dict[date, str]:
    """Row count and an order-independent hash of every row, per published day of one export table."""
    rows = connection.execute(
        f"SELECT {PARTITION_COLUMN}, count(*), bit_xor(hash(x)) FROM ({read_sql(f'export_{table}')}) AS x "
        "GROUP BY ALL"
    ).fetchall()
    return {day: f"{count}:{digest}" for day, count, digest in rows}


def write_partition(rows: pa.Table, target_dir: Path) -> None:
    """Write one day's rows as a Parquet file, replacing the previous one atomically."""
    target_dir.mkdir(parents=True, exist_ok=True)
    staging = target_dir / f".{PART_FILE}.tmp"
    pq.write_table(rows.drop_columns([PARTITION_COLUMN]), staging, compression="snappy")
    os.replace(staging, target_dir / PART_FILE)


def remove_partition(target_dir: Path) -> None:
    """Remove the file we wrote for a day that no longer has rows, and its folder when empty."""
    (target_dir / PART_FILE).unlink(missing_ok=True)
    if target_dir.is_dir() and not any(target_dir.iterdir()):
        target_dir.rmdir()


def is_stale(out_dir: Path, table: str, day: date, digest: str, previous: dict[str, str]) -> bool:
    """Tell whether a day's rows changed since the last export or its file went missing."""
    written = partition_dir(out_dir, table, day) / PART_FILE
    return previous.get(day.isoformat()) != digest or not written.exists()


def export_table(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    out_dir: Path,
    state: dict[str, dict[str, str]],
    progress: ProgressCallback | None = None,
) -> TableExport:
    """Write the days of one table whose rows changed since the last export, and drop days that vanished."""
    result = TableExport()
    current = fingerprint_days(connection, table)
    previous = state.setdefault(table, {})
    changed = sorted(
        day for day, digest in current.items() if is_stale(out_dir, table, day, digest, previous)
    )
    result.unchanged_days = len(current) - len(changed)
    result.removed_days = sorted(day for day in map(date.fromisoformat, previous) if day not in current)
    if progress:
        progress(table, 0, len(changed))
    query = f"SELECT * FROM ({read_sql(f'export_{table}')}) AS x WHERE list_contains(?, {PARTITION_COLUMN})"
    for start in range(0, len(changed), DAYS_PER_QUERY):
        days = changed[start : start + DAYS_PER_QUERY]
        rows = connection.execute(query, [days]).to_arrow_table()
        for day in days:
            day_rows = rows.filter(pc.equal(rows[PARTITION_COLUMN], pa.scalar(day, pa.date32())))
            write_partition(day_rows, partition_dir(out_dir, table, day))
            previous[day.isoformat()] = current[day]
            result.written_days.append(day)
            result.rows_written += day_rows.num_rows
        write_state(out_dir, state)
        if progress:
            progress(table, start + len(days), len(changed))
    for day in result.removed_days:
        remove_partition(partition_dir(out_dir, table, day))
        del previous[day.isoformat()]
    write_state(out_dir, state)
    result.rows_total = sum(int(digest.split(":")[0]) for digest in current.values())
    return result


def export_parquet(
    connection: duckdb.DuckDBPyConnection, out_dir: str | Path, progress: ProgressCallback | None = None
) -> dict[str, TableExport]:
    """Export articles, article_topics and duplicates as Hive-partitioned Parquet; only changed days."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    state = read_state(out_dir)
    return {table: export_table(connection, table, out_dir, state, progress) for table in EXPORT_TABLES}
