"""Read-only queries behind `newsdesk sql` and `newsdesk stats`."""

from __future__ import annotations

from typing import Any

import duckdb

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
    """Run one query and return its column names and rows."""
    cursor = connection.execute(query)
    if cursor.description is None:
        return [], []
    return [d[0] for d in cursor.description], cursor.fetchall()


def count_tables(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Row counts of the main tables and views."""
    return [(name, connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0]) for name in STAT_TABLES]


def top_topics(connection: duckdb.DuckDBPyConnection, limit: int = 10) -> list[tuple[Any, ...]]:
    """The topics with the most distinct stories."""
    return connection.execute(read_sql("top_topics"), [limit]).fetchall()
