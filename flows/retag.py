"""The retag flow: re-tag stored articles whose topic tags come from an older taxonomy version, in batches."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.config import DEFAULT_DB, load_config
from flows.runlog import close_run, current_run_id, map_source_values, open_run, render_run_markdown
from transforms.topics import TopicMatcher, get_matcher, tag_article
from transforms.urls import registered_site_of
from warehouse.db import transaction, write_session
from warehouse.load import now_utc, to_arrow
from warehouse.sql import read_sql

RETAG_BATCH = 1000
ID_SCHEMA = pa.schema([("article_id", pa.string())])


def select_stale_articles(
    db_path: Path, version: str, candidates: list[str] | None = None, force: bool = False
) -> list[str]:
    """Ids of articles (all, or among `candidates`) whose tags are not of taxonomy `version`."""
    with write_session(db_path) as connection:
        connection.register(
            "candidate_articles", pa.table({"article_id": pa.array(candidates or [], pa.string())})
        )
        try:
            rows = connection.execute(
                read_sql("select_stale_tags"),
                {"version": version, "everything": candidates is None, "force": force},
            ).fetchall()
        finally:
            connection.unregister("candidate_articles")
    return [row[0] for row in rows]


def tag_rows(articles: pa.Table, matcher: TopicMatcher, countries: dict[str, str]) -> list[dict[str, Any]]:
    """Tag an Arrow batch of articles; return `article_topics` rows."""
    rows = []
    for article in articles.to_pylist():
        country = countries.get(article["feed_url"] or "") or countries.get(
            registered_site_of(article["canonical_url"])
        )
        for tag in tag_article(matcher, article["title"], article["text"], source_country=country):
            rows.append(
                {
                    "article_id": article["article_id"],
                    "topic_id": tag.topic_id,
                    "score": tag.score,
                    "evidence": tag.evidence,
                    "taxonomy_version": tag.taxonomy_version,
                }
            )
    return rows


def retag_batch(
    db_path: Path, article_ids: list[str], matcher: TopicMatcher, countries: dict[str, str]
) -> dict[str, int]:
    """Re-tag one batch of articles and replace their tags in one transaction."""
    ids = pa.Table.from_pylist([{"article_id": i} for i in article_ids], schema=ID_SCHEMA)
    with write_session(db_path) as connection:
        connection.register("candidate_articles", ids)
        try:
            articles = connection.execute(read_sql("select_articles_to_tag")).to_arrow_table()
        finally:
            connection.unregister("candidate_articles")
        rows = tag_rows(articles, matcher, countries)
        with transaction(connection):
            connection.register("retagged_articles", ids)
            connection.register("new_tags", to_arrow("article_topics", rows))
            try:
                removed = connection.execute(
                    "SELECT count(*) FROM article_topics JOIN retagged_articles USING (article_id)"
                ).fetchone()[0]
                connection.execute(
                    read_sql("replace_article_tags"), {"version": matcher.version, "tagged_at": now_utc()}
                )
            finally:
                connection.unregister("retagged_articles")
                connection.unregister("new_tags")
    return {"articles_retagged": len(article_ids), "tags_removed": removed, "tags_added": len(rows)}


def retag_articles(
    db_path: Path,
    matcher: TopicMatcher,
    countries: dict[str, str],
    candidates: list[str] | None = None,
    force: bool = False,
    batch_size: int = RETAG_BATCH,
) -> Counter[str]:
    """Re-tag every stale article (all, or among `candidates`), batch by batch; return counts."""
    counts: Counter[str] = Counter()
    stale = select_stale_articles(db_path, matcher.version, candidates, force)
    counts["articles_stale"] = len(stale)
    for start in range(0, len(stale), batch_size):
        counts.update(retag_batch(db_path, stale[start : start + batch_size], matcher, countries))
    return counts


@task(name="article_topics", cache_policy=NO_CACHE)
def retag_stale(
    db_path: Path, taxonomy_path: str | None, countries: dict[str, str], force: bool, batch_size: int
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
            db_path, taxonomy_path, map_source_values(config, "country"), force, max(1, batch_size)
        )
        status = "completed"
    finally:
        counts["seconds"] = round(time.monotonic() - started, 2)
        summary = close_run(db_path, run_id, "retag", status, counts, {})
    create_markdown_artifact(
        key="retag-summary", markdown=render_run_markdown(summary), description="retag run"
    )
    return summary
