"""Retag throughput: re-tag every stored article of a warehouse (flows.retag.retag_articles with force).

Each measurement runs in a fresh interpreter, as `newsdesk retag` does: the bench process holds the built site
and what its other parts left behind (hundreds of MB), which no user's retag process carries.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.e2e import child_environment
from bench.warehouses import copy_warehouse, remove_warehouse
from flows.stages.matchers import get_matcher
from transforms.topics import tag_article
from warehouse.db import read_session

CHILD_TIMEOUT_S = 600


def measure_retag(db_path: Path, work: Path) -> dict[str, float | str]:
    """Re-tag all articles of a copy of the lake `db_path` names in a child interpreter; its articles/s and method."""
    copy = work / "retag.duckdb"  # names the lake retag.lake.sqlite beside it
    copy_warehouse(db_path, copy)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.retag", str(copy)],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            env=child_environment(work / "prefect"),
        )
    finally:
        remove_warehouse(copy)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"retag child failed with exit code {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(lines[-1])


def time_retag(db_path: Path) -> dict[str, float | str]:
    """Re-tag all articles of `db_path` (a copy: it is rewritten) through the retag flow's batch function."""
    matcher = get_matcher(None)
    try:
        from flows.retag import RETAG_BATCH, retag_articles
        from flows.stages.runlog import freeze_long_lived
    except ImportError:
        return measure_tagging(db_path) | {"method": "tag_article only (flows.retag missing)"}
    # Where the retag flow stands at its first batch (flows.stages.runlog.open_run): the matcher compiled and out of
    # the cyclic collector's reach, and pyarrow.dataset imported (DuckDB imports it at the first Arrow table).
    freeze_long_lived(matcher)
    importlib.import_module("pyarrow.dataset")
    started = time.perf_counter()
    counts = retag_articles(db_path, matcher, {}, force=True)
    seconds = time.perf_counter() - started
    articles = counts.get("articles_retagged", 0)
    return {
        "articles": articles,
        "seconds": seconds,
        "per_s": articles / seconds if seconds else 0.0,
        "method": (
            "flows.retag.retag_articles(force=True) in a fresh interpreter, the matcher compiled and frozen "
            f"before the clock as in the flow: the articles read {RETAG_BATCH:,} at a time by rowid range, "
            f"tagged in this one process, their tags replaced in one transaction per {RETAG_BATCH:,}"
        ),
    }


def measure_tagging(db_path: Path) -> dict[str, float | str]:
    """Fallback: tag_article over the stored texts, without the warehouse round trip."""
    with read_session(db_path, shared=False) as connection:
        rows = connection.execute("SELECT title, text FROM articles").fetchall()
    matcher = get_matcher(None)
    started = time.perf_counter()
    for title, text in rows:
        tag_article(matcher, title, text)
    seconds = time.perf_counter() - started
    return {"articles": len(rows), "seconds": seconds, "per_s": len(rows) / seconds if seconds else 0.0}


def main() -> None:
    """Entry point of the child: time one retag and print its figures as one JSON line."""
    parser = argparse.ArgumentParser(description="one measured retag (bench child)")
    parser.add_argument("db", type=Path, help="a warehouse copy the retag may rewrite")
    print(json.dumps(time_retag(parser.parse_args().db)))


if __name__ == "__main__":
    main()
