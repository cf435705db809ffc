"""Retag throughput: re-tag every stored article of a warehouse (flows.retag.retag_articles with force)."""

from __future__ import annotations

import importlib
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
        from flows.forked_tagging import can_fork
        from flows.retag import FORK_MIN_ARTICLES, POOL_MIN_ARTICLES, RETAG_BATCH, retag_articles
        from flows.runlog import freeze_long_lived
    except ImportError:
        return measure_tagging(copy) | {"method": "tag_article only (flows.retag missing)"}
    # Where the retag flow stands at its first batch (flows.runlog.open_run): the matcher compiled and out of
    # the cyclic collector's reach (else a full collection of its objects lands in the first batches), and
    # pyarrow.dataset imported (DuckDB imports it at the first Arrow table a run registers).
    freeze_long_lived(matcher)
    importlib.import_module("pyarrow.dataset")
    started = time.perf_counter()
    counts = retag_articles(copy, matcher, {}, force=True)  # its helpers or workers have ended on return
    seconds = time.perf_counter() - started
    copy.unlink(missing_ok=True)
    articles = counts.get("articles_retagged", 0)
    batches = -(-articles // RETAG_BATCH)
    if can_fork():
        where = (
            f"here and, for {counts.get('batches_forked', 0)} of {batches} batches, in helper processes forked"
            f" at the start (from {FORK_MIN_ARTICLES:,} stale articles, sharing a batch when other work leaves"
            " a core free)"
        )
    else:
        where = f"here (worker processes join in from {POOL_MIN_ARTICLES:,} on otherwise idle cores)"
    return {
        "articles": articles,
        "seconds": seconds,
        "per_s": articles / seconds if seconds else 0.0,
        "batches_forked": counts.get("batches_forked", 0),
        "method": (
            "flows.retag.retag_articles(force=True), the matcher compiled and frozen before the clock as in "
            f"the flow: the articles streamed from one scan, tagged {where}, their tags replaced in one "
            f"transaction per {RETAG_BATCH:,} by a warehouse thread while the next batch is tagged"
        ),
    }


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
