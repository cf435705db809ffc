"""Entries polled but not loaded yet: kept in the warehouse so that a run ending early loses none of them."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from warehouse.arrow_rows import table_from_rows
from warehouse.sql import read_sql

TS = pa.timestamp("us")
PENDING_SCHEMA = pa.schema(
    [
        ("feed_url", pa.string()),
        ("guid", pa.string()),
        ("link", pa.string()),
        ("title", pa.string()),
        ("summary", pa.string()),
        ("published_at", TS),
        ("error", pa.string()),
        ("updated_at", TS),
        ("run_id", pa.string()),
        ("polled_at", TS),
        ("resumed", pa.int32()),
        ("due_at", TS),  # not to be fetched before (its host's Retry-After); None: due now
    ]
)
DEFERRED_SCHEMA = pa.schema([("feed_url", pa.string()), ("guid", pa.string()), ("due_at", TS)])


def feed_table(feed_urls: list[str]) -> pa.Table:
    """A one-column table of the run's feed URLs."""
    return pa.table({"feed_url": pa.array(sorted(set(feed_urls)), pa.string())})


def read_pending_entries(connection: duckdb.DuckDBPyConnection, feed_urls: list[str]) -> list[dict[str, Any]]:
    """The pending entry rows of these feeds (the run's own), oldest first."""
    connection.register("run_feeds", feed_table(feed_urls))
    try:
        return connection.execute(read_sql("select_pending_entries")).to_arrow_table().to_pylist()
    finally:
        connection.unregister("run_feeds")


def replace_pending_entries(
    connection: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], feed_urls: list[str]
) -> None:
    """Make `rows` the whole set of pending entries of these feeds, in the caller's transaction."""
    connection.register("run_feeds", feed_table(feed_urls))
    try:
        connection.execute(read_sql("delete_run_pending_entries"))
    finally:
        connection.unregister("run_feeds")
    if not rows:
        return
    connection.register("new_pending_entries", table_from_rows(rows, PENDING_SCHEMA))
    try:
        names = ", ".join(PENDING_SCHEMA.names)
        connection.execute(f"INSERT INTO pending_entries ({names}) SELECT {names} FROM new_pending_entries")
    finally:
        connection.unregister("new_pending_entries")


def clear_pending_entries(connection: duckdb.DuckDBPyConnection, entries: pa.Table) -> None:
    """Forget the pending rows of entries a batch has just stored (`entries` has feed_url and guid)."""
    if entries.num_rows == 0:
        return
    connection.register("batch_entry_keys", entries.select(["feed_url", "guid"]))
    try:
        connection.execute(read_sql("delete_loaded_pending_entries"))
    finally:
        connection.unregister("batch_entry_keys")


def defer_pending_entries(connection: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Set when pending entries become due (`rows` have feed_url, guid and due_at)."""
    if not rows:
        return
    connection.register("deferred_entry_keys", table_from_rows(rows, DEFERRED_SCHEMA))
    try:
        connection.execute(read_sql("defer_pending_entries"))
    finally:
        connection.unregister("deferred_entry_keys")
