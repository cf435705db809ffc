"""Feed registry and polling state in the warehouse."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from warehouse.arrow_rows import table_from_rows
from warehouse.load import now_utc
from warehouse.sql import read_sql

FEED_STATE_SCHEMA = pa.schema(
    [
        ("feed_url", pa.string()),
        ("title", pa.string()),
        ("active", pa.bool_()),
        ("inactive_reason", pa.string()),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("body_hash", pa.string()),
        ("cache_trusted", pa.bool_()),
        ("poll_every_s", pa.int32()),
        ("next_poll_at", pa.timestamp("us")),
        ("last_polled_at", pa.timestamp("us")),
        ("last_success_at", pa.timestamp("us")),
        ("last_status", pa.int32()),
        ("last_error", pa.string()),
        ("consecutive_failures", pa.float64()),
        ("polls_since_unconditional", pa.int32()),
    ]
)


def register_feeds(
    connection: duckdb.DuckDBPyConnection, feeds: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Upsert the configured feeds and return their stored polling state."""
    added_at = now_utc()
    table = pa.Table.from_pylist(
        [{**feed, "added_at": added_at} for feed in feeds],
        schema=pa.schema(
            [
                ("feed_url", pa.string()),
                ("name", pa.string()),
                ("language", pa.string()),
                ("source", pa.string()),
                ("added_at", pa.timestamp("us")),
            ]
        ),
    )
    connection.register("configured_feeds", table)
    try:
        connection.execute(read_sql("upsert_configured_feeds"))
        cursor = connection.execute(read_sql("select_feed_states"))
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.unregister("configured_feeds")


def update_feed_states(connection: duckdb.DuckDBPyConnection, states: list[dict[str, Any]]) -> None:
    """Write back polling state for the feeds that were polled."""
    if not states:
        return
    connection.register("feed_updates", table_from_rows(states, FEED_STATE_SCHEMA))
    try:
        connection.execute(read_sql("update_feed_states"))
    finally:
        connection.unregister("feed_updates")


def select_unseen_entries(
    connection: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Return the (feed_url, guid) pairs the warehouse has not recorded yet."""
    if not keys:
        return set()
    table = pa.Table.from_pylist(
        [{"feed_url": feed_url, "guid": guid} for feed_url, guid in keys],
        schema=pa.schema([("feed_url", pa.string()), ("guid", pa.string())]),
    )
    connection.register("polled_entries", table)
    try:
        return {(row[0], row[1]) for row in connection.execute(read_sql("select_unseen_entries")).fetchall()}
    finally:
        connection.unregister("polled_entries")


def select_known_urls(connection: duckdb.DuckDBPyConnection, canonical_urls: list[str]) -> dict[str, str]:
    """Map canonical URLs that already belong to a stored article to that article's id."""
    if not canonical_urls:
        return {}
    table = pa.Table.from_pylist(
        [{"canonical_url": url} for url in sorted(set(canonical_urls))],
        schema=pa.schema([("canonical_url", pa.string())]),
    )
    connection.register("candidate_urls", table)
    try:
        return dict(connection.execute(read_sql("select_known_urls")).fetchall())
    finally:
        connection.unregister("candidate_urls")
