"""Top-k BM25 over the lake's postings: score the query terms' postings, then look up the best documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from warehouse.postings import TITLE_WEIGHT, expand_list, install_search_macros
from warehouse.sql import read_sql
from warehouse.top_documents import TopDocuments, select_top_bounded, select_top_exhaustive

DEPTH_GROWTH = 4  # how much deeper a ranking reads when duplicates or ties leave the top unsure


@dataclass(frozen=True)
class RankedArticle:
    """One article a query matched, before its fields are fetched."""

    article_id: str
    score: float
    has_all_words: bool
    dated_at: datetime | None
    first_seen_at: datetime | None


@dataclass(frozen=True)
class HitDocument:
    """What search_documents says of one of the best-scored documents."""

    article_id: str
    dated_at: datetime | None
    first_seen_at: datetime | None
    indexed_at: datetime
    canonical: bool


def rank_articles(
    connection: duckdb.DuckDBPyConnection,
    query: str,
    topic_id: str | None = None,
    since: date | datetime | None = None,
    limit: int = 10,
    title_weight: float = TITLE_WEIGHT,
) -> list[RankedArticle]:
    """The best `limit` canonical articles for a query: those with every word first, then by BM25 (as
    search_ranked in SQL), ties by dated_at then article_id."""
    terms = select_query_terms(connection, query)
    if not terms:
        return []
    depth, exhaustive = 2 * limit + 20, topic_id is not None or since is not None
    while True:
        if exhaustive:
            top = select_top_exhaustive(connection, terms, topic_id, since, title_weight, depth)
        else:
            top = select_top_bounded(connection, terms, title_weight, depth)
        shown = pick_shown(top, select_hit_documents(connection, top.rows), limit)
        if top.complete or len(shown) >= limit:
            return shown[:limit]
        if top.bounded:
            exhaustive = True  # reading deeper within the bound would find no more
        else:
            depth *= DEPTH_GROWTH


def select_query_terms(connection: duckdb.DuckDBPyConnection, query: str) -> list[str]:
    """The query's distinct terms, the search macros made first if this connection lacks them."""
    try:  # one statement per search where checking for the macros first made two
        return connection.execute("SELECT search_query_terms($q)", {"q": query}).fetchone()[0] or []
    except duckdb.CatalogException:
        install_search_macros(connection)
        return connection.execute("SELECT search_query_terms($q)", {"q": query}).fetchone()[0] or []


def select_hit_documents(
    connection: duckdb.DuckDBPyConnection, top: list[tuple[int, float, bool]]
) -> dict[int, HitDocument]:
    """The documents of the top ids, by doc_id."""
    if not top:
        return {}
    ids = [doc_id for doc_id, _, _ in top]
    sql, parameters = expand_list(read_sql("search_select_hit_documents"), "doc_ids", "d", ids, "UBIGINT")
    parameters["doc_id_list"] = ids
    return {row[0]: HitDocument(*row[1:]) for row in connection.execute(sql, parameters).fetchall()}


def pick_shown(top: TopDocuments, documents: dict[int, HitDocument], limit: int) -> list[RankedArticle]:
    """The shown articles among the top documents, best first, at most `limit`, all surely in place.

    Articles ranked level with top.floor may have unread peers that order before them (by dated_at,
    article_id): only those ranked strictly above it are sure.
    """
    newest: dict[str, tuple[datetime, int]] = {}
    for doc_id, document in documents.items():  # one document per article, even after unseen concurrent ones
        key = (document.indexed_at, doc_id)
        newest[document.article_id] = max(newest.get(document.article_id, key), key)
    shown = [
        RankedArticle(d.article_id, score, has_all, d.dated_at, d.first_seen_at)
        for doc_id, score, has_all in top.rows
        if (d := documents.get(doc_id)) is not None
        and d.canonical
        and newest[d.article_id][1] == doc_id
        and (top.floor is None or (has_all, score) > top.floor)
    ]
    shown.sort(key=rank_key)
    return shown[:limit]


def rank_key(article: RankedArticle) -> tuple:
    """Sort key of search_ranked's order: every word first, score down, dated_at (NULL last), article_id."""
    return (
        not article.has_all_words,
        -article.score,
        article.dated_at is None,
        article.dated_at or datetime.min,
        article.article_id,
    )


def fetch_hit_articles(
    connection: duckdb.DuckDBPyConnection, ranked: list[RankedArticle]
) -> dict[str, tuple[str | None, str, datetime | None, str, str]]:
    """Title, source, published_at, canonical_url and text of each ranked canonical article, by id."""
    if not ranked:
        return {}
    first_seen = sorted({r.first_seen_at for r in ranked if r.first_seen_at is not None})
    sql, parameters = expand_list(read_sql("search_select_hit_articles"), "first_seen", "f", first_seen)
    article_ids = [r.article_id for r in ranked]
    sql, ids = expand_list(sql, "article_ids", "a", article_ids)
    parameters |= ids | {"article_id_list": article_ids}
    found = {row[0]: tuple(row[1:]) for row in connection.execute(sql, parameters).fetchall()}
    missing = [r.article_id for r in ranked if r.article_id not in found]
    if missing:  # indexed with another first_seen_at than stored (reprocessed), or no longer canonical
        sql, ids = expand_list(read_sql("search_select_hit_articles_anywhen"), "article_ids", "a", missing)
        ids["article_id_list"] = missing
        found.update({row[0]: tuple(row[1:]) for row in connection.execute(sql, ids).fetchall()})
    return found
