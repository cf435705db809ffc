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
POSTINGS_TABLES = ("search_documents", "search_postings", "search_replaced", "search_stats")
BATCH_COLUMNS = ("article_id", "title", "text", "published_at", "first_seen_at")  # what indexing reads
FIRST_DEPTH = 20  # ranked documents read beyond twice the limit: room for duplicates and replaced documents


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
    connection.register("search_batch_rows", articles.select(list(BATCH_COLUMNS)))
    try:
        earlier = connection.execute(read_sql("search_select_earlier")).to_arrow_table()
        connection.register("search_batch_earlier", earlier)
        # A token per call makes each indexing's document ids its own, even for a text indexed once before.
        batch = connection.execute(
            read_sql("search_select_batch"), {"token": uuid.uuid4().hex}
        ).to_arrow_table()
        if batch.num_rows:
            write_batch(connection, batch, indexed_at or now_utc())
    finally:
        connection.unregister("search_batch_rows")
        connection.unregister("search_batch_earlier")
    return batch.num_rows


def write_batch(connection: duckdb.DuckDBPyConnection, batch: pa.Table, stamp: datetime) -> None:
    """Tokenise the batch's documents and append their stats, documents, replaced documents and postings."""
    connection.register("search_batch", batch)
    try:
        postings = connection.execute(read_sql("search_tokenize_batch")).to_arrow_table()
        connection.register("search_batch_postings", postings)
        recent = connection.execute(read_sql("search_select_recent")).fetchone()[0]
        connection.execute(read_sql("search_insert_stats"), {"indexed_at": stamp})
        connection.execute(read_sql("search_insert_documents"), {"indexed_at": stamp})
        connection.execute(read_sql("search_insert_replaced"), {"indexed_at": stamp, "recent": recent})
        connection.execute(read_sql("search_insert_postings"))
    finally:
        connection.unregister("search_batch_postings")
        connection.unregister("search_batch")


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
    parameters: dict[str, object] = {"query": query, "title_weight": title_weight}
    if topic_id is not None or since is not None:
        parameters.update(topic=topic_id, since=since)
    statement = read_sql("search_select_top_within" if "topic" in parameters else "search_select_top")
    depth = 2 * limit + FIRST_DEPTH
    while True:  # deeper only when duplicates, replaced documents or ties hide what the limit needs
        top = connection.execute(statement, {**parameters, "depth": depth}).fetchall()
        shown = shown_articles(connection, top)
        if len(top) < depth or settled(shown, top, limit):
            return shown[:limit]
        depth *= 4


def shown_articles(connection: duckdb.DuckDBPyConnection, top: list[tuple]) -> list[RankedArticle]:
    """The ranked documents (doc_id, score, has_all_words) whose article is shown, in the final order."""
    if not top:
        return []
    recent = connection.execute(read_sql("search_select_recent")).fetchone()[0]
    connection.register("search_top_docs", pa.table({"doc_id": pa.array([r[0] for r in top], pa.uint64())}))
    try:
        found = connection.execute(read_sql("search_select_ranked"), {"recent": recent}).fetchall()
    finally:
        connection.unregister("search_top_docs")
    articles = {row[0]: row[1:] for row in found if row[4]}
    ranked = [(score, has_all, articles[doc_id]) for doc_id, score, has_all in top if doc_id in articles]
    ranked.sort(key=lambda r: (not r[1], -r[0], r[2][2] or datetime.max, r[2][0]))
    return [
        RankedArticle(article_id=a[0], score=score, has_all_words=has_all, first_seen_at=a[1])
        for score, has_all, a in ranked
    ]


def settled(shown: list[RankedArticle], top: list[tuple], limit: int) -> bool:
    """Whether the shown articles fill the limit, the last ranked strictly above any document not read."""
    if len(shown) < limit:
        return False
    return (shown[limit - 1].has_all_words, shown[limit - 1].score) > min((r[2], r[1]) for r in top)


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
