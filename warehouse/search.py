"""Ranked full-text search (BM25) over the canonical articles of a read snapshot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from warehouse.fts import has_search_index, load_fts
from warehouse.sql import read_sql

WORD = re.compile(r"\w+", re.UNICODE)


class SearchUnavailable(RuntimeError):
    """The database has no search index, or the request cannot be answered."""


@dataclass(frozen=True)
class SearchHit:
    """One ranked article."""

    article_id: str
    score: float
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


def check_topic(connection: duckdb.DuckDBPyConnection, topic: str) -> None:
    """Fail clearly when `topic` is neither a topic id nor a label in the warehouse."""
    known = connection.execute(
        "SELECT count(*) FROM topics WHERE lower(topic_id) = lower($t) OR lower(label) = lower($t)",
        {"t": topic},
    ).fetchone()[0]
    if not known:
        close = connection.execute(
            "SELECT label FROM topics ORDER BY jaro_winkler_similarity(lower(label), lower(?)) DESC LIMIT 3",
            [topic],
        ).fetchall()
        hint = ", ".join(row[0] for row in close)
        raise SearchUnavailable(f"unknown topic {topic!r}" + (f" (closest: {hint})" if hint else ""))


def search_articles(connection: duckdb.DuckDBPyConnection, query: str, topic: str | None = None,
                    since: date | None = None, limit: int = 10) -> list[SearchHit]:
    """Return up to `limit` canonical articles ranked by BM25 for `query`, optionally by topic and date."""
    if not WORD.search(query or ""):
        raise SearchUnavailable("the search query has no words")
    if limit < 1:
        raise SearchUnavailable("the limit must be at least 1")
    if not has_search_index(connection):
        raise SearchUnavailable(
            "this database has no search index: search the read snapshot (published after each ingest, "
            "or by `newsdesk snapshot`)"
        )
    load_fts(connection)
    if topic:
        check_topic(connection, topic)
    rows = connection.execute(
        read_sql("search_articles"), {"query": query, "topic": topic or None, "since": since, "limit": limit}
    ).fetchall()
    return [
        SearchHit(article_id=row[0], score=row[1], title=row[2], source=row[3], published_at=row[4],
                  canonical_url=row[5], snippet=make_snippet(row[6], query))
        for row in rows
    ]
