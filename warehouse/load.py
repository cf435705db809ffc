"""Bulk loads from Arrow: one transaction per batch, never row by row."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.clock import now_utc, utc_naive
from warehouse.db import run_transaction
from warehouse.near_dupes import link_near_duplicates
from warehouse.page_files import move_bodies_out, release_arrow_memory, remove_page_file
from warehouse.pending import clear_pending_entries
from warehouse.postings import index_articles
from warehouse.revisions import record_entry_updates, store_revisions
from warehouse.site_lines import insert_site_lines
from warehouse.sql import read_sql

TS = pa.timestamp("us")
STR = pa.string()

SCHEMAS: dict[str, pa.Schema] = {
    "entries": pa.schema(
        [
            ("feed_url", STR),
            ("guid", STR),
            ("link", STR),
            ("title", STR),
            ("summary", STR),
            ("published_at", TS),
            ("first_seen_at", TS),
            ("run_id", STR),
            ("updated_at", TS),
        ]
    ),
    "fetches": pa.schema(
        [
            ("run_id", STR),
            ("url", STR),
            ("kind", STR),
            ("status", pa.int32()),
            ("bytes", pa.int64()),
            ("elapsed_ms", pa.float64()),
            ("final_url", STR),
            ("error_class", STR),
            ("error", STR),
            ("fetched_at", TS),
        ]
    ),
    "raw_pages": pa.schema(
        [
            ("url", STR),
            ("final_url", STR),
            ("status", pa.int32()),
            ("content_type", STR),
            ("fetched_at", TS),
            ("body_compressed", pa.binary()),
            ("body_bytes", pa.int64()),
            ("body_hash", STR),
            ("run_id", STR),
            ("body_codec", STR),
            ("body_file", STR),
        ]
    ),
    "articles": pa.schema(
        [
            ("article_id", STR),
            ("canonical_url", STR),
            ("url", STR),
            ("final_url", STR),
            ("feed_url", STR),
            ("source", STR),
            ("title", STR),
            ("byline", STR),
            ("published_at", TS),
            ("language", STR),
            ("text", STR),
            ("word_count", pa.int32()),
            ("content_hash", STR),
            ("categories", pa.list_(STR)),
            ("first_seen_at", TS),
            ("updated_at", TS),
            ("extractor_version", STR),
            ("cleaner_version", STR),
            ("run_id", STR),
            ("batch_rank", pa.int32()),
            ("published_source", STR),
            ("date_candidates", STR),  # JSON list
            ("modified_at", TS),
            ("language_source", STR),
            ("language_confidence", pa.float64()),
            ("declared_language", STR),
            ("extractor", STR),
        ]
    ),
    "extraction_alarms": pa.schema(
        [
            ("run_id", STR),
            ("source", STR),
            ("flagged_at", TS),
            ("pages", pa.int32()),
            ("failed_share", pa.float64()),
            ("baseline_pages", pa.int32()),
            ("baseline_share", pa.float64()),
        ]
    ),
    "article_refs": pa.schema(
        [("article_id", STR), ("feed_url", STR), ("guid", STR), ("url", STR), ("seen_at", TS)]
    ),
    "duplicates": pa.schema(
        [
            ("article_id", STR),
            ("duplicate_of", STR),
            ("similarity", pa.float64()),
            ("method", STR),
            ("url", STR),
            ("detected_at", TS),
            ("run_id", STR),
        ]
    ),
    "topics": pa.schema(
        [
            ("topic_id", STR),
            ("label", STR),
            ("kind", STR),
            ("parents", pa.list_(STR)),
            ("taxonomy_version", STR),
        ]
    ),
    "article_topics": pa.schema(
        [
            ("article_id", STR),
            ("topic_id", STR),
            ("score", pa.float64()),
            ("evidence", STR),
            ("taxonomy_version", STR),
        ]
    ),
    "failures": pa.schema(
        [
            ("run_id", STR),
            ("stage", STR),
            ("url", STR),
            ("feed_url", STR),
            ("reason", STR),
            ("detail", STR),
            ("retry", STR),
            ("failed_at", TS),
            ("resolved_at", TS),
        ]
    ),
}


# Tables whose key the load keeps (migration 0004 dropped their constraints: DuckDB rewrote every touched key
# index at each batch's checkpoint): a row whose key is stored, or repeats an earlier row of the batch, is
# skipped; a replaced row is deleted and inserted again, in the batch's transaction.
LOAD_KEYS: dict[str, tuple[str, ...]] = {
    "entries": ("feed_url", "guid"),
    "raw_pages": ("url",),
    "article_refs": ("article_id", "feed_url", "guid"),
    "duplicates": ("article_id",),
    "article_topics": ("article_id", "topic_id"),
    "topics": ("topic_id",),
}


def to_arrow(table: str, rows: Iterable[dict[str, Any]]) -> pa.Table:
    """Build an Arrow table with the warehouse schema of `table` from plain dict rows."""
    schema = SCHEMAS[table]
    prepared = []
    for row in rows:
        item = {}
        for column in schema.names:
            value = row.get(column)
            if isinstance(value, datetime):
                value = utc_naive(value)
            elif isinstance(value, dict | list) and schema.field(column).type == STR:
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            item[column] = value
        prepared.append(item)
    return pa.Table.from_pylist(prepared, schema=schema)


def insert_rows(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    rows: list[dict[str, Any]],
    on_conflict: str = "NOTHING",
) -> int:
    """Insert rows into `table` through Arrow; return how many rows the table gained.

    A row whose key is already stored is skipped (NOTHING) or replaces the stored one (REPLACE); within the
    batch, the first row of a key wins, as DuckDB's ON CONFLICT / INSERT OR REPLACE did.
    """
    if on_conflict not in ("NOTHING", "REPLACE"):
        raise ValueError(f"on_conflict must be NOTHING or REPLACE, got {on_conflict!r}")
    if not rows:
        return 0
    arrow = to_arrow(table, rows)
    target_columns = [c for c in arrow.column_names if c != "batch_rank"]
    arrow = arrow.append_column("load_rank", pa.array(range(len(rows)), pa.int32()))
    view = f"arrow_{table}"
    connection.register(view, arrow)
    try:
        # Counted from the statements' own results: count(*) before and after cost two lake reads per table.
        columns = ", ".join(target_columns)
        selected = ", ".join(f"b.{c}" for c in target_columns)
        if table not in LOAD_KEYS:
            if on_conflict == "REPLACE":
                raise ValueError(f"{table} has no key to replace rows by")
            return changed_rows(connection, f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {view}")
        removed = 0
        if on_conflict == "REPLACE":
            removed = changed_rows(connection, replace_delete_sql(table, view))
        inserted = changed_rows(connection, keyed_insert_sql(table, view, columns, selected, on_conflict))
        return inserted - removed
    finally:
        connection.unregister(view)


def changed_rows(connection: duckdb.DuckDBPyConnection, sql: str) -> int:
    """Run an INSERT or DELETE; return the rows it inserted or deleted."""
    return connection.execute(sql).fetchone()[0]


def replace_delete_sql(table: str, view: str) -> str:
    """SQL that deletes the stored rows of a LOAD_KEYS table whose key the rows of `view` replace."""
    keys = LOAD_KEYS[table]
    matches = " AND ".join(f"s.{k} = b.{k}" for k in keys)
    # Distinct keys: a key repeated in the batch would count its stored row once per repetition.
    distinct = f"(SELECT DISTINCT {', '.join(keys)} FROM {view})"
    return f"DELETE FROM {table} AS s USING {distinct} AS b WHERE {matches}"


def keyed_insert_sql(table: str, view: str, columns: str, selected: str, on_conflict: str) -> str:
    """SQL that inserts the rows of `view` into a LOAD_KEYS table, keeping its key unique."""
    keys = LOAD_KEYS[table]
    matches = " AND ".join(f"s.{k} = b.{k}" for k in keys)
    partition = ", ".join(f"b.{k}" for k in keys)
    first_of_key = f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY b.load_rank) = 1"
    insert = f"INSERT INTO {table} ({columns}) SELECT {selected} FROM {view} AS b"
    if on_conflict == "REPLACE":  # after replace_delete_sql
        return f"{insert} {first_of_key}"
    return f"{insert} ANTI JOIN {table} AS s ON {matches} {first_of_key}"


@dataclass
class LoadBatch:
    """Everything one batch adds to the warehouse, written in one transaction."""

    run_id: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    fetches: list[dict[str, Any]] = field(default_factory=list)
    raw_pages: list[dict[str, Any]] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)
    article_refs: list[dict[str, Any]] = field(default_factory=list)
    url_duplicates: list[dict[str, Any]] = field(default_factory=list)
    article_topics: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    revised_articles: list[dict[str, Any]] = field(default_factory=list)  # known articles fetched again


def load_batch(connection: duckdb.DuckDBPyConnection, batch: LoadBatch) -> dict[str, int]:
    """Write one batch: ledger rows, raw pages, new articles with exact-duplicate marking, refs and topics."""
    counts: dict[str, int] = {}
    # Page bodies go to a file beside the database first; it is deleted again if the transaction fails. A page
    # stored before with the same body is left as it is (a repeated batch changes nothing, writes no file).
    changed = drop_unchanged_pages(connection, batch.raw_pages)
    raw_pages, pages_dir, page_file = move_bodies_out(connection, batch.run_id, changed)
    try:
        write_batch(connection, batch, raw_pages, counts)
    except BaseException:
        if page_file is not None:
            remove_page_file(pages_dir, page_file)
        raise
    finally:
        release_arrow_memory()  # the batch's Arrow tables: freed, but kept by the pool until told
    return counts


def drop_unchanged_pages(
    connection: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The raw page rows whose URL is not stored yet with the same body hash."""
    if not rows:
        return rows
    keys = pa.table(
        {
            "url": pa.array([row["url"] for row in rows], STR),
            "body_hash": pa.array([row["body_hash"] for row in rows], STR),
        }
    )
    connection.register("batch_page_keys", keys)
    try:
        unchanged = {url for (url,) in connection.execute(read_sql("select_unchanged_pages")).fetchall()}
    finally:
        connection.unregister("batch_page_keys")
    return [row for row in rows if row["url"] not in unchanged] if unchanged else rows


def write_batch(
    connection: duckdb.DuckDBPyConnection,
    batch: LoadBatch,
    raw_pages: list[dict[str, Any]],
    counts: dict[str, int],
) -> None:
    """The transaction of load_batch (run again if another writer's commit conflicts), its row counts added to
    `counts`."""
    run_transaction(connection, lambda c: write_batch_rows(c, batch, raw_pages, counts))


def write_batch_rows(
    connection: duckdb.DuckDBPyConnection,
    batch: LoadBatch,
    raw_pages: list[dict[str, Any]],
    counts: dict[str, int],
) -> None:
    """Every row of one batch, inside the caller's transaction."""
    counts["entries"] = insert_rows(connection, "entries", batch.entries)
    entries = to_arrow("entries", batch.entries)
    record_entry_updates(connection, entries)
    clear_pending_entries(connection, entries)
    counts["fetches"] = insert_rows(connection, "fetches", batch.fetches)
    counts["raw_pages"] = insert_rows(connection, "raw_pages", raw_pages, on_conflict="REPLACE")
    counts["articles"] = insert_articles(connection, batch)
    counts["site_lines"] = insert_site_lines(connection, batch.articles, now_utc())
    revised_arrow = to_arrow("articles", batch.revised_articles)
    revised = store_revisions(connection, batch.revised_articles, revised_arrow, batch.run_id, now_utc())
    counts["revised_articles"] = len(revised)
    # The search index takes the batch's articles as loaded (not read back: that would read every text).
    counts["indexed"] = index_articles(connection, to_arrow("articles", batch.articles + revised))
    resigned = [row["article_id"] for row in revised]
    counts.update(
        link_near_duplicates(connection, batch.articles + revised, batch.run_id, now_utc(), resigned)
    )
    counts["article_refs"] = insert_rows(connection, "article_refs", batch.article_refs)
    counts["url_duplicates"] = insert_rows(connection, "duplicates", batch.url_duplicates)
    counts["article_topics"] = insert_rows(connection, "article_topics", batch.article_topics)
    counts["failures"] = insert_rows(connection, "failures", batch.failures)


def insert_articles(connection: duckdb.DuckDBPyConnection, batch: LoadBatch) -> int:
    """Insert the batch's new articles and mark those whose text repeats a stored article."""
    if not batch.articles:
        return 0
    arrow = to_arrow("articles", batch.articles)
    connection.register("batch_articles", arrow)
    try:
        columns = ", ".join(c for c in arrow.column_names if c != "batch_rank")
        # An anti-join, not ON CONFLICT: DuckDB's conflict check costs ~1 ms per row at 200k stored articles
        # (and grows with the table), the anti-join a hash join over two key columns (bench/growth.py).
        inserted = changed_rows(
            connection,
            f"INSERT INTO articles ({columns}) SELECT {columns} FROM batch_articles AS b "
            "ANTI JOIN articles AS by_id ON by_id.article_id = b.article_id "
            "ANTI JOIN articles AS by_url ON by_url.canonical_url = b.canonical_url "
            "QUALIFY row_number() OVER (PARTITION BY b.article_id ORDER BY b.batch_rank) = 1 "
            "AND row_number() OVER (PARTITION BY b.canonical_url ORDER BY b.batch_rank) = 1",
        )
        connection.execute(
            read_sql("mark_content_duplicates"), {"detected_at": now_utc(), "run_id": batch.run_id}
        )
    finally:
        connection.unregister("batch_articles")
    return inserted
