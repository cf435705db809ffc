"""Search postings in the lake, kept per batch: a batch indexes only its new or changed articles."""

from __future__ import annotations

import uuid
from collections.abc import Set
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from warehouse.clock import now_utc
from warehouse.fts import load_fts
from warehouse.sql import read_sql

TITLE_WEIGHT = 2.0  # the title's own BM25 score is added this many times to the whole document's
BATCH_COLUMNS = ("article_id", "title", "text", "published_at", "first_seen_at")  # what indexing reads
RANGE_GAP = timedelta(hours=1)  # first sights this close share one range when looking earlier documents up


def install_search_macros(connection: duckdb.DuckDBPyConnection) -> None:
    """Load fts (for stem) and make this connection's search macros, search_ranked among them, once."""
    try:  # binding one macro costs ~1 ms; making them all again ~40 ms per search
        connection.execute("SELECT search_stem('made')")
        return
    except duckdb.CatalogException:
        pass
    load_fts(connection)
    connection.execute(read_sql("search_macros"))


def has_search_postings(connection: duckdb.DuckDBPyConnection) -> bool:
    """Tell whether the connection's database holds the postings tables (migrations 12 and 15)."""
    try:  # binding is ~1 ms; listing duckdb_tables() of a lake ~50 ms. Migration 15 comes after 12.
        connection.execute("SELECT 1 FROM search_replaced LIMIT 0")
    except duckdb.CatalogException:
        return False
    return True


def expand_list(
    sql: str, name: str, prefix: str, values: list, cast: str = ""
) -> tuple[str, dict[str, object]]:
    """The statement with `{name}` made into parameters `$prefix0, $prefix1, …` (each cast to `cast` if
    given), and their values.

    DuckLake prunes files and row groups on constants, not on a subquery's or a list parameter's values. A
    constant of another type than the column's (Python ints bind as BIGINT or HUGEINT) makes the column cast
    instead: nothing is pruned.
    """
    names = [f"{prefix}{i}" for i in range(len(values))] or [f"{prefix}0"]
    suffix = f"::{cast}" if cast else ""
    placeholders = ", ".join(f"${n}{suffix}" for n in names)
    return sql.replace("{" + name + "}", placeholders), dict(zip(names, values or [None], strict=True))


def expand_ranges(sql: str, name: str, column: str, values: list[datetime]) -> tuple[str, dict[str, object]]:
    """The statement with `{name}` made into `column BETWEEN $lo0 AND $hi0 OR …` over the sorted values,
    those less than RANGE_GAP apart in one range: a few constant ranges prune as well as hundreds of values,
    and bind faster."""
    ranges: list[list[datetime]] = []
    for value in sorted(values):
        if ranges and value - ranges[-1][1] <= RANGE_GAP:
            ranges[-1][1] = value
        else:
            ranges.append([value, value])
    condition = " OR ".join(f"{column} BETWEEN $lo{i} AND $hi{i}" for i in range(len(ranges))) or "false"
    parameters: dict[str, object] = {}
    for i, (low, high) in enumerate(ranges):
        parameters.update({f"lo{i}": low, f"hi{i}": high})
    return sql.replace("{" + name + "}", f"({condition})"), parameters


def index_articles(
    connection: duckdb.DuckDBPyConnection,
    articles: pa.Table,
    indexed_at: datetime | None = None,
    new_ids: Set[str] = frozenset(),
) -> int:
    """Index a batch of articles in the caller's transaction; return how many were new or changed.

    `articles` holds the rows as stored (article_id, title, text, published_at, first_seen_at; other columns
    are ignored): the batch's new articles and the changed ones with their new text and their stored
    first_seen_at (what finds their earlier documents). An article whose title, text and date are indexed as
    they are is skipped, so indexing a batch twice adds nothing. `new_ids`: articles this transaction
    inserted, which have no documents yet (every writer indexes an article with or after inserting it), so
    their earlier documents are not looked up. Two indexings of one article must not commit unseen by each
    other: run it in warehouse.db.run_transaction (the write ticket), as every write does.
    """
    if articles.num_rows == 0:
        return 0
    install_search_macros(connection)
    batch = select_batch(connection, articles.select(list(BATCH_COLUMNS)), new_ids)
    if batch.num_rows == 0:
        return 0
    stamp = {"indexed_at": indexed_at or now_utc()}
    connection.register("search_batch", batch)
    try:
        postings = connection.execute(read_sql("search_tokenize_batch")).to_arrow_table()
        connection.register("search_batch_postings", postings)
        try:
            connection.execute(read_sql("search_insert_stats"), stamp)
            connection.execute(read_sql("search_insert_documents"), stamp)
            connection.execute(read_sql("search_insert_postings"))
            if any(batch.column("earlier_ids").to_pylist()):
                connection.execute(read_sql("search_insert_replaced"), stamp)
        finally:
            connection.unregister("search_batch_postings")
    finally:
        connection.unregister("search_batch")
    return batch.num_rows


def select_batch(
    connection: duckdb.DuckDBPyConnection, rows: pa.Table, new_ids: Set[str] = frozenset()
) -> pa.Table:
    """The rows to index (new or changed), with their new doc_id and the live documents of their articles
    stored before (`new_ids` are not)."""
    first_seen = [
        seen
        for article_id, seen in zip(
            rows.column("article_id").to_pylist(), rows.column("first_seen_at").to_pylist(), strict=True
        )
        if seen is not None and article_id not in new_ids
    ]
    sql = read_sql("search_select_batch")
    sql, parameters = expand_ranges(sql, "first_seen", "d.first_seen_at", first_seen)
    # A token per call makes each indexing's document ids its own, even for a text indexed once before.
    parameters["token"] = uuid.uuid4().hex
    connection.register("search_batch_rows", rows)
    try:
        return connection.execute(sql, parameters).to_arrow_table()
    finally:
        connection.unregister("search_batch_rows")
