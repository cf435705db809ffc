"""Article revisions in the warehouse: noticing that a known page changed, keeping its earlier texts, putting
the new one in (transforms.revisions decides which).

An edit is noticed from the feed (docs/dedup.md, "Warehouse side"): a stored entry whose feed gives a later
`updated` time is polled again (`select_revised_entries`), and an entry for a known URL leads to a fetch when
its update (or publication) time is later than the last fetch of the page (`is_newer_version`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from transforms.records import FeedEntry
from transforms.revisions import plan_revisions
from transforms.timestamps import utc_naive
from warehouse.article_keys import insert_article_keys
from warehouse.load_schemas import to_arrow
from warehouse.sql import read_sql

TS = pa.timestamp("us")
VERSION_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("version", pa.int32()),
        ("content_hash", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("word_count", pa.int32()),
        ("seen_at", TS),
        ("replaced_at", TS),
        ("diff_summary", pa.string()),
        ("run_id", pa.string()),
    ]
)
POLLED_SCHEMA = pa.schema([("feed_url", pa.string()), ("guid", pa.string()), ("updated_at", TS)])


def select_revised_entries(
    connection: duckdb.DuckDBPyConnection, entries: list[FeedEntry]
) -> set[tuple[str, str]]:
    """Keys (feed_url, guid) of already stored entries whose feed now gives a later update time."""
    rows = [
        {"feed_url": e.feed_url, "guid": e.guid, "updated_at": utc_naive(e.updated_at)}
        for e in entries
        if e.updated_at is not None
    ]
    if not rows:
        return set()
    connection.register("polled_versions", pa.Table.from_pylist(rows, schema=POLLED_SCHEMA))
    try:
        rows = connection.execute(read_sql("select_newer_entry_versions")).fetchall()
        return {(feed_url, guid) for feed_url, guid in rows}
    finally:
        connection.unregister("polled_versions")


def select_last_fetches(connection: duckdb.DuckDBPyConnection, article_ids: list[str]) -> dict[str, datetime]:
    """When each known article's page was last fetched (or, failing a ledger row, stored)."""
    if not article_ids:
        return {}
    ids = pa.table({"article_id": pa.array(sorted(set(article_ids)), pa.string())})
    connection.register("known_articles", ids)
    try:
        return dict(connection.execute(read_sql("select_article_version_times")).fetchall())
    finally:
        connection.unregister("known_articles")


def store_revisions(
    connection: duckdb.DuckDBPyConnection,
    rows: list[dict[str, Any]],
    revised: pa.Table,
    run_id: str,
    replaced_at: datetime,
) -> list[dict[str, Any]]:
    """Keep the replaced texts of refetched articles whose text changed and put the new text in place.

    `rows` are `articles` rows built from the refetched pages, `revised` the same rows as Arrow. Returns the
    rows whose text changed, with the stored publication and first-seen dates, ready to be signed again.
    """
    if not rows:
        return []
    connection.register("revised_ids", revised.select(["article_id"]))
    try:
        cursor = connection.execute(read_sql("select_article_versions_stored"))
        columns = [d[0] for d in cursor.description]
        stored = {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}
    finally:
        connection.unregister("revised_ids")
    versions, changed = plan_revisions(rows, stored, run_id, replaced_at)
    if not changed:
        return []
    changed_ids = pa.table({"article_id": pa.array([row["article_id"] for row in changed], pa.string())})
    views = {
        "replaced_versions": pa.Table.from_pylist(versions, schema=VERSION_SCHEMA),
        "revised_articles": revised,
        "changed_ids": changed_ids,
    }
    for name, table in views.items():
        connection.register(name, table)
    try:
        connection.execute(read_sql("insert_article_versions"))
        connection.execute(read_sql("update_article_versions"), {"updated_at": replaced_at})
        insert_article_keys(connection, to_arrow("articles", changed))  # the new texts' hashes
        connection.execute(read_sql("delete_article_version_topics"))
    finally:
        for name in views:
            connection.unregister(name)
    return changed


def record_entry_updates(connection: duckdb.DuckDBPyConnection, entries: pa.Table) -> None:
    """Store the later feed update times of entries seen again, so the same update is not followed twice."""
    if not entries.num_rows or "updated_at" not in entries.column_names:
        return
    connection.register("batch_entries", entries)
    try:
        connection.execute(read_sql("update_entry_versions"))
    finally:
        connection.unregister("batch_entries")
