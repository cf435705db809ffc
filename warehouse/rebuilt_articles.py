"""Reprocessing a day's stored pages: the pages whose article is stale, and the write of their rebuilds."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.arrow_rows import dict_rows
from warehouse.article_keys import insert_article_keys
from warehouse.db import run_transaction
from warehouse.load import insert_rows, to_arrow
from warehouse.near_dupes import link_near_duplicates
from warehouse.postings import index_articles
from warehouse.sql import read_sql

REBUILT_VIEWS = ("batch_articles", "changed_articles", "retagged_articles", "new_tags")


def day_bounds(day: date) -> dict[str, datetime]:
    """Query parameters for [day, day + 1) in UTC."""
    start = datetime.combine(day, datetime.min.time())
    return {"day_start": start, "day_end": start + timedelta(days=1)}


def select_reprocess_pages(
    connection: duckdb.DuckDBPyConnection,
    day: date,
    force: bool,
    extractor_version: str,
    cleaner_version: str,
) -> list[dict[str, Any]]:
    """Raw pages of the day whose article another extractor or cleaner version built (all with force)."""
    params = {
        **day_bounds(day),
        "force": force,
        "extractor_version": extractor_version,
        "cleaner_version": cleaner_version,
    }
    return dict_rows(connection.execute(read_sql("select_reprocess_pages"), params))


def select_day_articles(connection: duckdb.DuckDBPyConnection, day: date) -> list[str]:
    """Ids of the articles built from the day's raw pages."""
    return [row[0] for row in connection.execute(read_sql("select_day_articles"), day_bounds(day)).fetchall()]


def replace_rebuilt_articles(
    connection: duckdb.DuckDBPyConnection,
    rows: list[dict[str, Any]],
    tags: list[dict[str, Any]],
    taxonomy_version: str,
    run_id: str,
    seen_at: datetime,
) -> dict[str, int]:
    """Overwrite stored articles with their rebuilt rows, replace their tags, redo their content-hash and
    near-duplicate links; runs inside the caller's transaction and returns the near-duplicate counts."""
    ids = pa.table({"article_id": pa.array([row["article_id"] for row in rows], pa.string())})
    rebuilt = to_arrow("articles", rows)
    connection.register("batch_articles", rebuilt)
    connection.register("changed_articles", ids)
    connection.register("retagged_articles", ids)
    connection.register("new_tags", to_arrow("article_topics", tags))
    try:
        connection.execute(read_sql("forget_changed_hash_duplicates"))
        connection.execute(read_sql("update_rebuilt_articles"))
        insert_article_keys(connection, rebuilt)  # the new text's hash
        connection.execute(read_sql("delete_retagged_tags"))
        connection.execute(
            read_sql("insert_retagged_tags"), {"version": taxonomy_version, "tagged_at": seen_at}
        )
        connection.execute(read_sql("mark_content_duplicates"), {"detected_at": seen_at, "run_id": run_id})
        # Indexed with their stored first sight: the search finds (and replaces) their older document by it.
        stored = dict(connection.execute(read_sql("select_changed_first_seen")).fetchall())
        indexed = [
            row | {"first_seen_at": stored.get(row["article_id"], row.get("first_seen_at"))} for row in rows
        ]
        index_articles(connection, to_arrow("articles", indexed))  # only texts that changed are indexed again
        # The text may have changed: sign it again and re-link its old and new clusters.
        resigned = [row["article_id"] for row in rows]
        return link_near_duplicates(connection, rows, run_id, seen_at, resigned=resigned)
    finally:
        for view in REBUILT_VIEWS:
            connection.unregister(view)


def store_rebuilt_articles(
    connection: duckdb.DuckDBPyConnection,
    rows: list[dict[str, Any]],
    tags: list[dict[str, Any]],
    failures: list[dict[str, Any]],
    taxonomy_version: str,
    run_id: str,
    seen_at: datetime,
) -> dict[str, int]:
    """In one transaction, store the rebuilt articles (when any) and the failed rebuilds' ledger rows; return
    the near-duplicate counts and `failed_extract`, the failure rows added."""

    def store(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
        counts: dict[str, int] = {}
        if rows:
            counts.update(replace_rebuilt_articles(connection, rows, tags, taxonomy_version, run_id, seen_at))
        counts["failed_extract"] = insert_rows(connection, "failures", failures)
        return counts

    return run_transaction(connection, store)
