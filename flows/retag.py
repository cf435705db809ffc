"""The retag flow: re-tag stored articles whose topic tags come from an older taxonomy version, in batches."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.settings.config import DEFAULT_DB, load_config
from flows.stages.matchers import get_matcher
from flows.stages.runlog import close_run_with_summary, current_run_id, map_source_values, open_run
from transforms.article_topics import concat_columns, tag_columns
from transforms.topics import TopicMatcher
from warehouse.article_tags import count_articles, find_stale_articles, replace_tags, stream_articles
from warehouse.db import open_sibling_cursor, read_load_memory_limit, write_session

RETAG_BATCH = 1000  # articles per transaction
CHUNK_ARTICLES = 100  # articles per Arrow record batch read


def group_batches(chunks: Iterable[pa.RecordBatch], batch_size: int) -> Iterator[list[pa.RecordBatch]]:
    """Regroup a stream of record batches into lists of `batch_size` rows (the last one may hold fewer)."""
    group: list[pa.RecordBatch] = []
    rows = 0
    for chunk in chunks:
        while chunk.num_rows:
            take = min(chunk.num_rows, batch_size - rows)
            group.append(chunk if take == chunk.num_rows else chunk.slice(0, take))
            chunk = chunk.slice(take)
            rows += take
            if rows == batch_size:
                yield group
                group, rows = [], 0
    if group:
        yield group


def ids_of(chunks: list[pa.RecordBatch]) -> list[str]:
    """The article ids of a batch, in order."""
    return [article_id for chunk in chunks for article_id in chunk.column("article_id").to_pylist()]


def retag_articles(
    db_path: Path,
    matcher: TopicMatcher,
    countries: dict[str, str],
    candidates: list[str] | None = None,
    force: bool = False,
    batch_size: int = RETAG_BATCH,
) -> Counter[str]:
    """Re-tag every stale article (all, or among `candidates`), one transaction per batch; return counts."""
    counts: Counter[str] = Counter()
    # The load cap: each article is read once, so DuckDB's cache of what it read only grows the process.
    with write_session(db_path, memory_limit=read_load_memory_limit()) as connection:
        stale: list[str] | None = None  # None: every stored article
        if force and candidates is None:  # no need to ask which are stale
            counts["articles_stale"] = count_articles(connection)
        else:
            stale = find_stale_articles(connection, matcher.version, candidates, force)
            counts["articles_stale"] = len(stale)
        if not counts["articles_stale"]:
            return counts
        reader = open_sibling_cursor(connection)  # streams the articles while `connection` writes their tags
        try:
            stream = stream_articles(reader, stale, min(CHUNK_ARTICLES, batch_size), batch_size)
            for chunks in group_batches(stream, batch_size):
                tags = concat_columns(
                    [tag_columns(matcher, chunk.to_pydict(), countries) for chunk in chunks]
                )
                counts.update(replace_tags(connection, ids_of(chunks), tags, matcher.version))
        finally:
            reader.close()
    return counts


@task(name="article_topics", cache_policy=NO_CACHE)
def retag_stale(
    db_path: Path,
    taxonomy_path: str | None,
    countries: dict[str, str],
    force: bool,
    batch_size: int,
) -> dict[str, int]:
    """Re-tag the warehouse's stale articles."""
    counts = retag_articles(
        db_path, get_matcher(taxonomy_path), countries, force=force, batch_size=batch_size
    )
    get_run_logger().info("retagged %s", dict(counts))
    return dict(counts)


@flow(name="retag", log_prints=True)
def retag(
    taxonomy: str | None = None,
    db: str | None = None,
    sources: str | None = None,
    force: bool = False,
    batch_size: int = RETAG_BATCH,
) -> dict[str, Any]:
    """Re-tag stored articles whose tags are of an older taxonomy version (or all with force)."""
    started = time.monotonic()
    config = load_config(sources)
    db_path = Path(db) if db else DEFAULT_DB
    taxonomy_path = taxonomy or (str(config.taxonomy_path) if config.taxonomy_path else None)
    run_id = current_run_id()
    matcher = get_matcher(taxonomy_path)
    params = {"taxonomy": taxonomy_path, "db": str(db_path), "force": force, "version": matcher.version}
    open_run(db_path, run_id, "retag", params, taxonomy_path)
    counts: dict[str, Any] = {}
    status = "failed"
    try:
        counts = retag_stale(
            db_path,
            taxonomy_path,
            map_source_values(config, "country"),
            force,
            max(1, batch_size),
        )
        status = "completed"
    finally:
        summary = close_run_with_summary(db_path, run_id, "retag", status, counts, started)
    return summary
