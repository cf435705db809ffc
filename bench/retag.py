"""Retag throughput: re-tag every stored article of a warehouse (flows.retag.retag_articles with force)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import duckdb

from transforms.topics import get_matcher, tag_article


def measure_retag(db_path: Path, work: Path) -> dict[str, float | str]:
    """Re-tag all articles of a copy of `db_path` through the retag flow's batch function; articles/s."""
    copy = work / "retag.duckdb"
    shutil.copyfile(db_path, copy)
    matcher = get_matcher(None)
    try:
        from flows.retag import retag_articles
    except ImportError:
        return measure_tagging(copy) | {"method": "tag_article only (flows.retag missing)"}
    started = time.perf_counter()
    counts = retag_articles(copy, matcher, {}, force=True)
    seconds = time.perf_counter() - started
    copy.unlink(missing_ok=True)
    articles = counts.get("articles_retagged", 0)
    return {"articles": articles, "seconds": seconds, "per_s": articles / seconds if seconds else 0.0,
            "method": "flows.retag.retag_articles(force=True): read, tag, replace in one transaction per 1000"}


def measure_tagging(db_path: Path) -> dict[str, float | str]:
    """Fallback: tag_article over the stored texts, without the warehouse round trip."""
    with duckdb.connect(str(db_path), read_only=True) as connection:
        rows = connection.execute("SELECT title, text FROM articles").fetchall()
    matcher = get_matcher(None)
    started = time.perf_counter()
    for title, text in rows:
        tag_article(matcher, title, text)
    seconds = time.perf_counter() - started
    return {"articles": len(rows), "seconds": seconds, "per_s": len(rows) / seconds if seconds else 0.0}
