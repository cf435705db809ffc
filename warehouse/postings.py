"""BM25 search over append-only postings in the lake: a batch indexes only its new or changed articles."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from warehouse.clock import now_utc
from warehouse.fts import load_fts
from warehouse.sql import read_sql

TITLE_WEIGHT = 2.0  # the title's own BM25 score is added this many times to the whole document's
POSTINGS_TABLES = ("search_documents", "search_postings", "search_stats")


@dataclass(frozen=True)
class RankedArticle:
    """One article a query matched, before its fields are fetched."""

    article_id: str
    score: float
    has_all_words: bool


def install_search_macros(connection: duckdb.DuckDBPyConnection) -> None:
    """Load fts (for stem) and make this connection's search macros, search_ranked among them."""
    load_fts(connection)
    connection.execute(read_sql("search_macros"))


def has_search_postings(connection: duckdb.DuckDBPyConnection) -> bool:
    """Tell whether the connection's database holds the postings tables (migration 12)."""
    found = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND table_name IN (SELECT unnest($names))",
        {"names": list(POSTINGS_TABLES)},
    ).fetchone()[0]
    return found == len(POSTINGS_TABLES)


def index_articles(
    connection: duckdb.DuckDBPyConnection, article_ids: Iterable[str], indexed_at: datetime | None = None
) -> int:
    """Index the given articles as the articles table holds them now, in the caller's transaction; return how
    many were new or changed (an article indexed with the same title, text and date is skipped)."""
    ids = sorted(set(article_ids))
    if not ids:
        return 0
    install_search_macros(connection)
    # A token per call makes each indexing's document ids its own, even for a text indexed once before.
    batch = connection.execute(
        read_sql("search_select_batch"), {"article_ids": ids, "token": uuid.uuid4().hex}
    ).to_arrow_table()
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
    return [RankedArticle(article_id=row[0], score=row[1], has_all_words=row[2]) for row in rows]


def fetch_hit_articles(
    connection: duckdb.DuckDBPyConnection, article_ids: list[str]
) -> dict[str, tuple[str | None, str, datetime | None, str, str]]:
    """Title, source, published_at, canonical_url and text of each given canonical article, by id."""
    if not article_ids:
        return {}
    rows = connection.execute(read_sql("search_select_hit_articles"), {"article_ids": article_ids}).fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}
