"""BM25 search over append-only postings in the lake: a batch indexes only its new or changed articles."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pyarrow as pa

from warehouse.clock import now_utc
from warehouse.fts import load_fts
from warehouse.sql import read_sql

TITLE_WEIGHT = 2.0  # the title's own BM25 score is added this many times to the whole document's
POSTINGS_TABLES = ("search_documents", "search_postings", "search_stats")
BATCH_COLUMNS = ("article_id", "title", "text", "published_at", "first_seen_at")  # what indexing reads


@dataclass(frozen=True)
class RankedArticle:
    """One article a query matched, before its fields are fetched."""

    article_id: str
    score: float
    has_all_words: bool
    first_seen_at: datetime | None


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
    """Tell whether the connection's database holds the postings tables (migration 12)."""
    try:  # binding is ~1 ms; listing duckdb_tables() of a lake ~50 ms
        for table in POSTINGS_TABLES:
            connection.execute(f"SELECT 1 FROM {table} LIMIT 0")
    except duckdb.CatalogException:
        return False
    return True


def index_articles(
    connection: duckdb.DuckDBPyConnection, articles: pa.Table, indexed_at: datetime | None = None
) -> int:
    """Index a batch of articles in the caller's transaction; return how many were new or changed.

    `articles` holds the rows as stored (article_id, title, text, published_at, first_seen_at; other columns
    are ignored): the batch's new articles and the changed ones with their new text. An article whose title,
    text and date are indexed as they are is skipped, so indexing a batch twice adds nothing.
    """
    if articles.num_rows == 0:
        return 0
    install_search_macros(connection)
    rows = articles.select(list(BATCH_COLUMNS))
    connection.register("search_batch_rows", rows)
    try:
        # A token per call makes each indexing's document ids its own, even for a text indexed once before.
        batch = connection.execute(
            read_sql("search_select_batch"), {"token": uuid.uuid4().hex}
        ).to_arrow_table()
    finally:
        connection.unregister("search_batch_rows")
    if batch.num_rows == 0:
        return 0
    stamp = indexed_at or now_utc()
    connection.register("search_batch", batch)
    try:
        postings = connection.execute(read_sql("search_tokenize_batch")).to_arrow_table()
        connection.register("search_batch_postings", postings)
        try:
            # The stats first: they subtract each article's newest document before this batch's is added.
            connection.execute(read_sql("search_insert_stats"), {"indexed_at": stamp})
            connection.execute(read_sql("search_insert_documents"), {"indexed_at": stamp})
            connection.execute(read_sql("search_insert_postings"))
        finally:
            connection.unregister("search_batch_postings")
    finally:
        connection.unregister("search_batch")
    return batch.num_rows


def rank_articles(
    connection: duckdb.DuckDBPyConnection,
    query: str,
    topic_id: str | None = None,
    since: date | datetime | None = None,
    limit: int = 10,
    title_weight: float = TITLE_WEIGHT,
) -> list[RankedArticle]:
    """The best `limit` canonical articles for a query: those with every word first, then by BM25."""
    install_search_macros(connection)
    parameters = {
        "query": query,
        "topic": topic_id,
        "since": since,
        "title_weight": title_weight,
        "limit": limit,
    }
    rows = connection.execute(read_sql("search_select_ranked"), parameters).fetchall()
    return [
        RankedArticle(article_id=row[0], score=row[1], has_all_words=row[2], first_seen_at=row[3])
        for row in rows
    ]


def fetch_hit_articles(
    connection: duckdb.DuckDBPyConnection, ranked: list[RankedArticle]
) -> dict[str, tuple[str | None, str, datetime | None, str, str]]:
    """Title, source, published_at, canonical_url and text of each ranked canonical article, by id."""
    if not ranked:
        return {}
    parameters = {
        "article_ids": [r.article_id for r in ranked],
        "first_seen": sorted({r.first_seen_at for r in ranked if r.first_seen_at is not None}),
    }
    rows = connection.execute(read_sql("search_select_hit_articles"), parameters).fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}
