"""The topic catalogue in the warehouse."""

from __future__ import annotations

from typing import Any

import duckdb

from warehouse.load import insert_rows


def has_topics(connection: duckdb.DuckDBPyConnection, taxonomy_version: str) -> bool:
    """Tell whether the `topics` table holds topics of this taxonomy version (stored whole, in one insert)."""
    return bool(
        connection.execute(
            "SELECT count(*) FROM topics WHERE taxonomy_version = ?", [taxonomy_version]
        ).fetchone()[0]
    )


def store_topics(connection: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> int:
    """Make the `topics` table hold this taxonomy version's topics; a no-op when it already does."""
    if not rows:
        return 0
    version = rows[0]["taxonomy_version"]
    stored = connection.execute(
        "SELECT count(*) FROM topics WHERE taxonomy_version = ?", [version]
    ).fetchone()[0]
    if stored == len(rows):
        return 0
    return insert_rows(connection, "topics", rows, on_conflict="REPLACE") or len(rows)
