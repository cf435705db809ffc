"""Ranked full-text search (BM25) over the canonical articles, from the postings of warehouse/postings.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from warehouse.postings import has_search_postings
from warehouse.ranking import fetch_hit_articles, rank_articles

WORD = re.compile(r"\w+", re.UNICODE)
NO_INDEX = "this warehouse has no search index yet: run `newsdesk ingest` first"


class SearchUnavailable(RuntimeError):
    """The database has no search index, or the request cannot be answered."""


class UnknownTopic(ValueError):
    """A topic given by the user is neither a topic id nor a label."""


@dataclass(frozen=True)
class SearchHit:
    """One ranked article."""

    article_id: str
    score: float
    has_all_words: bool
    title: str | None
    source: str
    published_at: datetime | None
    canonical_url: str
    snippet: str


def make_snippet(text: str, query: str, width: int = 180) -> str:
    """A one-line excerpt of `text` around the first word of `query` it contains."""
    flat = " ".join(text.split())
    lowered = flat.lower()
    positions = [lowered.find(word.lower()) for word in WORD.findall(query) if len(word) > 2]
    found = [p for p in positions if p >= 0]
    start = max(0, min(found) - width // 3) if found else 0
    excerpt = flat[start : start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(flat) else ""
    return f"{prefix}{excerpt}{suffix}"


def resolve_topic(connection: duckdb.DuckDBPyConnection, topic: str) -> tuple[str, str]:
    """Return (topic_id, label) of a topic given by id or label, or fail naming the closest labels."""
    row = connection.execute(
        "SELECT topic_id, label FROM topics WHERE lower(topic_id) = lower($t) OR lower(label) = lower($t) "
        "ORDER BY topic_id LIMIT 1",
        {"t": topic},
    ).fetchone()
    if row:
        return row[0], row[1]
    close = connection.execute(
        "SELECT label FROM topics ORDER BY jaro_winkler_similarity(lower(label), lower(?)) DESC LIMIT 3",
        [topic],
    ).fetchall()
    hint = f" (closest: {', '.join(r[0] for r in close)})" if close else ""
    raise UnknownTopic(f"unknown topic {topic!r}{hint}")


def search_articles(
    connection: duckdb.DuckDBPyConnection,
    query: str,
    topic: str | None = None,
    since: date | datetime | None = None,
    limit: int = 10,
) -> list[SearchHit]:
    """Return up to `limit` canonical articles ranked by BM25 for `query`, optionally by topic and date."""
    if not WORD.search(query or ""):
        raise SearchUnavailable("the search query has no words")
    if limit < 1:
        raise SearchUnavailable("the limit must be at least 1")
    topic_id = resolve_topic(connection, topic)[0] if topic else None
    try:  # no statement of its own to look for the index first: each costs ~10 ms of catalog reads in a lake
        return search_postings(connection, query, topic_id, since, limit)
    except duckdb.CatalogException:
        if has_search_postings(connection):
            raise
        raise SearchUnavailable(NO_INDEX) from None


def search_postings(
    connection: duckdb.DuckDBPyConnection,
    query: str,
    topic_id: str | None,
    since: date | datetime | None,
    limit: int,
) -> list[SearchHit]:
    """The lake's way: rank over the postings, then fetch the shown fields of the few ranked articles."""
    ranked = rank_articles(connection, query, topic_id, since, limit)
    fields = fetch_hit_articles(connection, ranked)
    hits = []
    for r in ranked:
        if r.article_id not in fields:  # gone from canonical_articles between the two reads
            continue
        title, source, published_at, canonical_url, text = fields[r.article_id]
        hits.append(
            SearchHit(
                article_id=r.article_id,
                score=r.score,
                has_all_words=r.has_all_words,
                title=title,
                source=source,
                published_at=published_at,
                canonical_url=canonical_url,
                snippet=make_snippet(text, query),
            )
        )
    return hits
