"""Feed entries loaded through entry_keys (migration 0018): integer keys of every stored (feed_url, guid), so
that a batch's load finds which of its entries may be stored by scanning one integer column, and compares the
strings of the entries table only for those whose key it found."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from warehouse.load_schemas import STR
from warehouse.sql import read_sql


def key_table(rows: list[dict[str, Any]]) -> pa.Table:
    """The (feed_url, guid) of entry rows, as Arrow."""
    return pa.table(
        {
            "feed_url": pa.array([row["feed_url"] for row in rows], STR),
            "guid": pa.array([row["guid"] for row in rows], STR),
        }
    )


def select_entry_key_hits(connection: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> set[tuple]:
    """The (feed_url, guid) of the rows whose key is in entry_keys: every stored one, and a few that only
    share a key with one."""
    connection.register("batch_entry_keys", key_table(rows))
    try:
        return {(url, guid) for url, guid in connection.execute(read_sql("select_entry_key_hits")).fetchall()}
    finally:
        connection.unregister("batch_entry_keys")


def insert_entry_keys(connection: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Add the keys of entry rows the caller inserts, inside its transaction."""
    if not rows:
        return
    connection.register("keyed_entries", key_table(rows))
    try:
        connection.execute(read_sql("insert_entry_keys"))
    finally:
        connection.unregister("keyed_entries")
