"""Statements over a batch's Arrow tables: registered under a name for one statement, or run once per date
span of the batch so that the lake's files are pruned by their dates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

MAX_SPANS = 4  # date ranges a batch's lookups are cut into: each costs a scan's set-up, each prunes by date


def run_with(
    connection: duckdb.DuckDBPyConnection,
    views: dict[str, pa.Table],
    sql: str,
    params: dict[str, Any] | None = None,
) -> list[tuple]:
    """Run one statement with Arrow tables registered under the given names, unregistering them after."""
    for name, table in views.items():
        connection.register(name, table)
    try:
        cursor = connection.execute(sql, params or {})
        return cursor.fetchall() if cursor.description else []
    finally:
        for name in views:
            connection.unregister(name)


def id_table(ids: Iterable[str], column: str = "article_id") -> pa.Table:
    """A one-column Arrow table of ids."""
    return pa.table({column: pa.array(sorted(set(ids)), pa.string())})


def date_spans(
    dates: Iterable[datetime], margin: timedelta, limit: int = MAX_SPANS
) -> list[tuple[datetime, datetime]]:
    """The ranges within `margin` of the dates, overlapping ones merged, the nearest merged to `limit`."""
    spans: list[tuple[datetime, datetime]] = []
    for day in sorted(dates):
        if spans and day - margin <= spans[-1][1]:
            spans[-1] = (spans[-1][0], day + margin)
        else:
            spans.append((day - margin, day + margin))
    while len(spans) > limit:
        gaps = [spans[k + 1][0] - spans[k][1] for k in range(len(spans) - 1)]
        k = gaps.index(min(gaps))
        spans[k : k + 2] = [(spans[k][0], spans[k + 1][1])]
    return spans


def run_in_spans(
    connection: duckdb.DuckDBPyConnection,
    views: dict[str, pa.Table],
    sql: str,
    spans: list[tuple[datetime, datetime]],
    params: dict[str, Any] | None = None,
) -> list[tuple]:
    """Run a statement bounded by $window_start/$window_end once per date span (disjoint), rows concatenated:
    the lake's files are pruned by their dates, which one range over the batch's outliers would not do."""
    rows: list[tuple] = []
    for start, end in spans:
        rows += run_with(connection, views, sql, {**(params or {}), "window_start": start, "window_end": end})
    return rows
