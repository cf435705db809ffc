"""Plain dict rows: as Arrow tables of a given schema (the form every bulk write hands to DuckDB), and from a
query's cursor."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from warehouse.clock import utc_naive


def table_from_rows(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """An Arrow table of `schema` from dict rows (missing keys are NULL, timestamps stored as naive UTC)."""
    columns = {}
    for column in schema:
        values = [row.get(column.name) for row in rows]
        if pa.types.is_timestamp(column.type):
            values = [utc_naive(value) for value in values]
        columns[column.name] = pa.array(values, column.type)
    return pa.table(columns, schema=schema)


def dict_rows(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rest of an executed query's rows, each as a dict keyed by column name."""
    columns = [description[0] for description in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
