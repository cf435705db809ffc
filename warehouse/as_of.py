"""`--as-of`: the lake snapshot a run committed, or the last one at a moment: the warehouse as it was."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from warehouse.lake import current_catalog
from warehouse.sql import read_sql


class AsOfError(ValueError):
    """An `--as-of` value names no run and no moment the lake still keeps."""


def parse_moment(value: str) -> datetime | None:
    """An ISO date or time as naive UTC (a zone given is honoured), or None when the text is not one."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def resolve_snapshot(connection: duckdb.DuckDBPyConnection, value: str) -> int:
    """The snapshot an `--as-of` value stands for: a run id's recorded snapshot, else a time's latest."""
    row = connection.execute(read_sql("select_run_snapshot"), {"run_id": value.strip()}).fetchone()
    if row is not None:
        if row[0] is None:
            raise AsOfError(f"run {value} has not finished, so it recorded no snapshot")
        return int(row[0])
    moment = parse_moment(value)
    if moment is None:
        raise AsOfError(
            f"--as-of wants a run id (see `runs`) or a time such as 2026-12-06T10:00, not {value!r}"
        )
    found = connection.execute(
        read_sql("select_snapshot_at"), {"lake": current_catalog(connection), "moment": moment}
    ).fetchone()
    if found is None or found[0] is None:
        raise AsOfError(f"the warehouse keeps no snapshot from {moment:%Y-%m-%d %H:%M:%S} UTC or before")
    return int(found[0])
