"""Read-only queries behind `newsdesk sql` and `newsdesk stats`."""

from __future__ import annotations

from typing import Any

import duckdb

from warehouse.read_guard import check_read_only
from warehouse.sql import read_sql

STAT_TABLES = [
    "feeds",
    "entries",
    "raw_pages",
    "articles",
    "canonical_articles",
    "duplicates",
    "article_topics",
    "failures",
    "runs",
]


def run_query(connection: duckdb.DuckDBPyConnection, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a read-only query (refused unless it only reads) and return its column names and rows."""
    check_read_only(query)
    cursor = connection.execute(query)
    if cursor.description is None:
        return [], []
    return [d[0] for d in cursor.description], cursor.fetchall()


def count_tables(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Row counts of the main tables and views."""
    return [(name, connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0]) for name in STAT_TABLES]


def top_topics(connection: duckdb.DuckDBPyConnection, per_kind: int = 3) -> list[tuple[Any, ...]]:
    """(kind, topic_id, label, stories) of the most told topics: the best of each kind, regions last."""
    return connection.execute(read_sql("top_topics"), {"per_kind": per_kind}).fetchall()
