"""Bulk loads from Arrow: one transaction per batch, never row by row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.article_keys import insert_article_keys, select_stored_batch_keys
from warehouse.clock import now_utc
from warehouse.db import run_transaction
from warehouse.load_schemas import SCHEMAS, STR, TS, to_arrow  # noqa: F401 (SCHEMAS, TS: imported from here)
from warehouse.near_dupes import link_near_duplicates
from warehouse.page_files import move_bodies_out, release_arrow_memory, remove_page_file
from warehouse.pending import clear_pending_entries
from warehouse.postings import index_articles
from warehouse.revisions import record_entry_updates, store_revisions
from warehouse.site_lines import insert_site_lines
from warehouse.sql import read_sql

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


def insert_rows(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    rows: list[dict[str, Any]],
    on_conflict: str = "NOTHING",
    unstored: bool = False,
) -> int:
    """Insert rows into `table` through Arrow; return how many rows the table gained.

    A row whose key is already stored is skipped (NOTHING) or replaces the stored one (REPLACE); within the
    batch, the first row of a key wins, as DuckDB's ON CONFLICT / INSERT OR REPLACE did. `unstored` says the
    caller knows no row has a stored key: the stored keys are not read.
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
        rule = "UNSTORED" if unstored and on_conflict == "NOTHING" else on_conflict
        inserted = changed_rows(connection, keyed_insert_sql(table, view, columns, selected, rule))
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
    if on_conflict in ("REPLACE", "UNSTORED"):  # after replace_delete_sql, or no key of the rows is stored
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
    if has_stored_updates(batch.entries, counts["entries"]):
        record_entry_updates(connection, entries)
    clear_pending_entries(connection, entries)
    counts["fetches"] = insert_rows(connection, "fetches", batch.fetches)
    counts["raw_pages"] = insert_rows(connection, "raw_pages", raw_pages, on_conflict="REPLACE")
    articles = to_arrow("articles", batch.articles)
    new_ids = insert_articles(connection, batch, articles)
    counts["articles"] = len(new_ids)
    counts["site_lines"] = insert_site_lines(connection, batch.articles, now_utc())
    revised_arrow = to_arrow("articles", batch.revised_articles)
    revised = store_revisions(connection, batch.revised_articles, revised_arrow, batch.run_id, now_utc())
    counts["revised_articles"] = len(revised)
    # The search index takes the batch's articles as loaded (not read back: that would read every text).
    indexed = pa.concat_tables([articles, to_arrow("articles", revised)]) if revised else articles
    counts["indexed"] = index_articles(connection, indexed, new_ids=new_ids)
    resigned = [row["article_id"] for row in revised]
    counts.update(
        link_near_duplicates(
            connection, batch.articles + revised, batch.run_id, now_utc(), resigned, new_ids=new_ids
        )
    )
    counts["article_refs"] = insert_by_article(connection, "article_refs", batch.article_refs, new_ids)
    counts["url_duplicates"] = insert_rows(connection, "duplicates", batch.url_duplicates)
    counts["article_topics"] = insert_by_article(connection, "article_topics", batch.article_topics, new_ids)
    counts["failures"] = insert_rows(connection, "failures", batch.failures)


def has_stored_updates(entries: list[dict[str, Any]], inserted: int) -> bool:
    """Tell whether an entry carries a feed update time and its key was stored before this batch."""
    keys = {(row["feed_url"], row["guid"]) for row in entries}
    return inserted < len(keys) and any(row.get("updated_at") is not None for row in entries)


def insert_by_article(
    connection: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]], new_ids: set[str]
) -> int:
    """Insert rows keyed by article_id; the rows of articles this transaction inserted skip the anti-join.

    An article absent from `articles` has no rows in the tables keyed by it (every writer adds them with or
    after its article, in one transaction), so only the rows of articles stored before need the anti-join.
    """
    fresh = [row for row in rows if row["article_id"] in new_ids]
    known = [row for row in rows if row["article_id"] not in new_ids]
    return insert_rows(connection, table, fresh, unstored=True) + insert_rows(connection, table, known)


def insert_articles(connection: duckdb.DuckDBPyConnection, batch: LoadBatch, arrow: pa.Table) -> set[str]:
    """Insert the batch's new articles (`arrow`: batch.articles as Arrow) and mark those whose text repeats
    another article; return the ids of the articles inserted (none of them was stored when the transaction
    began)."""
    if not batch.articles:
        return set()
    connection.register("batch_articles", arrow)
    try:
        stored = select_stored_batch_keys(connection)  # the batch's ids, URLs and text hashes stored before
        chosen = choose_new_articles(batch.articles, stored["article_id"], stored["canonical_url"])
        if chosen:
            new_arrow = arrow.take(pa.array(chosen, pa.int64()))
            columns = ", ".join(c for c in new_arrow.column_names if c != "batch_rank")
            connection.register("new_articles", new_arrow)
            try:
                connection.execute(f"INSERT INTO articles ({columns}) SELECT {columns} FROM new_articles")
            finally:
                connection.unregister("new_articles")
            insert_article_keys(connection, new_arrow)
        # Marking reads every stored text hash with its article: only when some hash of the batch repeats.
        if has_repeated_text(batch.articles, stored["content_hash"]):
            connection.execute(
                read_sql("mark_content_duplicates"), {"detected_at": now_utc(), "run_id": batch.run_id}
            )
    finally:
        connection.unregister("batch_articles")
    return {batch.articles[k]["article_id"] for k in chosen}


def has_repeated_text(rows: list[dict[str, Any]], stored_hashes: set[str]) -> bool:
    """Tell whether a row's text hash was stored before the batch or repeats within it."""
    hashes = [row["content_hash"] for row in rows if row.get("content_hash") is not None]
    return len(set(hashes)) < len(hashes) or any(content_hash in stored_hashes for content_hash in hashes)


def choose_new_articles(rows: list[dict[str, Any]], stored_ids: set[str], stored_urls: set[str]) -> list[int]:
    """Positions of the rows to insert: id and canonical URL not stored, the batch's first of both."""
    order = sorted(
        range(len(rows)), key=lambda k: (rows[k].get("batch_rank") is None, rows[k].get("batch_rank") or 0, k)
    )
    candidates = [
        k
        for k in order
        if rows[k]["article_id"] not in stored_ids and rows[k]["canonical_url"] not in stored_urls
    ]
    first_by_id: dict[str, int] = {}
    first_by_url: dict[str, int] = {}
    for k in candidates:
        first_by_id.setdefault(rows[k]["article_id"], k)
        first_by_url.setdefault(rows[k]["canonical_url"], k)
    return [
        k
        for k in candidates
        if first_by_id[rows[k]["article_id"]] == k and first_by_url[rows[k]["canonical_url"]] == k
    ]
