"""Retag of stored articles: in-process and pooled paths write the same rows, counts, idempotence."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from flows.forked_tagging import can_fork
from flows.retag import (
    CHUNK_ARTICLES,
    FORK_MIN_ARTICLES,
    POOL_MIN_ARTICLES,
    count_helpers,
    group_batches,
    ids_of,
    pool_pays,
    read_load,
    replace_tags_after,
    retag_articles,
    start_workers,
    stream_articles,
    tag_in_pool,
    tag_in_process,
)
from transforms.article_topics import ARTICLE_COLUMNS
from transforms.topics import get_matcher, tag_article
from warehouse.load import to_arrow
from warehouse.migrate import apply_migrations

OLD_VERSION = "old-taxonomy"
# Source countries by feed URL and by site, so that the pooled path gets them too.
COUNTRIES = {"https://sana.example/feed": "SY", "jordantimes.example": "JO", "reuters.example": "GB"}


def load_corpus_articles(corpus: Path) -> list[tuple[str, str | None, str]]:
    """(source, title, text) of FA-KES Syria-war reports and aeb bodies (others, several languages)."""
    articles = []
    with (corpus / "articles" / "fa-kes" / "fakes.csv").open(encoding="latin-1", newline="") as handle:
        for row in csv.DictReader(handle):
            articles.append((row["source"], row["article_title"], row["article_content"]))
    for path in sorted((corpus / "ground_truth" / "aeb").glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8")).get("articleBody")
        if body:
            articles.append(("aeb", None, body))
    return articles


@pytest.fixture(scope="module")
def corpus_warehouse(tmp_path_factory) -> Path:
    """A warehouse of real articles, every other one with a tag of an older taxonomy."""
    from tests.conftest import CORPUS

    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    path = tmp_path_factory.mktemp("retag") / "news.duckdb"
    seen = datetime(2016, 5, 1)
    with duckdb.connect(str(path)) as connection:
        apply_migrations(connection)
        for number, (source, title, text) in enumerate(load_corpus_articles(CORPUS)):
            article_id = f"article-{number:04d}"
            url = f"https://{source}.example/news/{number}"
            feed_url = "https://sana.example/feed" if source == "sana" else None
            connection.execute(
                "INSERT INTO articles (article_id, canonical_url, url, final_url, feed_url, source, title, text, "
                "word_count, content_hash, first_seen_at, updated_at, extractor_version, cleaner_version, run_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'test', 'test', 'run-1')",
                [
                    article_id,
                    url,
                    url,
                    url,
                    feed_url,
                    f"{source}.example",
                    title,
                    text,
                    len(text.split()),
                    f"hash-{number}",
                    seen,
                    seen,
                ],
            )
            if number % 2 == 0:
                connection.execute(
                    "INSERT INTO article_topics (article_id, topic_id, score, evidence, taxonomy_version) "
                    "VALUES (?, 'syria', 0.5, '{}', ?)",
                    [article_id, OLD_VERSION],
                )
    return path


def copy_of(path: Path, tmp_path: Path, name: str) -> Path:
    """A private copy of a warehouse file."""
    target = tmp_path / name
    shutil.copyfile(path, target)
    return target


def query(path: Path, sql: str) -> list[tuple]:
    """Rows of one query on a read-only connection."""
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def stored_tags(path: Path) -> list[tuple]:
    """Every article_topics row, evidence as stored text, in a stable order."""
    return query(
        path,
        "SELECT article_id, topic_id, score, evidence::VARCHAR, taxonomy_version FROM article_topics "
        "ORDER BY article_id, topic_id",
    )


def test_pooled_retag_writes_the_same_rows_as_in_process(corpus_warehouse, tmp_path) -> None:
    matcher = get_matcher(None)
    serial = copy_of(corpus_warehouse, tmp_path, "serial.duckdb")
    pooled = copy_of(corpus_warehouse, tmp_path, "pooled.duckdb")
    serial_counts = retag_articles(
        serial, matcher, COUNTRIES, force=True, batch_size=300, use_pool=False, use_fork=False
    )
    # 300 rows: three 100-row chunks per batch, shared between this process and the worker
    pooled_counts = retag_articles(
        pooled, matcher, COUNTRIES, force=True, batch_size=300, workers=2, use_pool=True
    )
    deadline = time.monotonic() + 30
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not multiprocessing.active_children()  # the retag shut its workers down
    assert pooled_counts == serial_counts
    assert stored_tags(pooled) == stored_tags(serial)
    versions = "SELECT article_id, taxonomy_version FROM article_tag_versions ORDER BY article_id"
    assert query(pooled, versions) == query(serial, versions)
    assert len(query(serial, versions)) == serial_counts["articles_retagged"]


def test_retagged_rows_equal_tag_article_rows_as_loaded(corpus_warehouse, tmp_path) -> None:
    matcher = get_matcher(None)
    db = copy_of(corpus_warehouse, tmp_path, "news.duckdb")
    retag_articles(db, matcher, COUNTRIES, force=True, batch_size=200)
    articles = query(db, "SELECT article_id, title, text, feed_url, canonical_url FROM articles")
    rows = []
    for article_id, title, text, feed_url, canonical_url in articles:
        site = canonical_url.split("/")[2]
        country = COUNTRIES.get(feed_url or "") or COUNTRIES.get(site)
        for tag in tag_article(matcher, title, text, source_country=country):
            rows.append(
                {
                    "article_id": article_id,
                    "topic_id": tag.topic_id,
                    "score": tag.score,
                    "evidence": tag.evidence,
                    "taxonomy_version": tag.taxonomy_version,
                }
            )
    expected = sorted(tuple(row.values()) for row in to_arrow("article_topics", rows).to_pylist())
    assert stored_tags(db) == expected


def test_retag_counts_stale_removed_and_added_then_has_nothing_to_do(corpus_warehouse, tmp_path) -> None:
    matcher = get_matcher(None)
    db = copy_of(corpus_warehouse, tmp_path, "news.duckdb")
    articles = query(db, "SELECT count(*) FROM articles")[0][0]
    old_tags = query(db, "SELECT count(*) FROM article_topics")[0][0]
    counts = retag_articles(db, matcher, COUNTRIES, batch_size=100)
    assert counts["articles_stale"] == counts["articles_retagged"] == articles
    assert counts["tags_removed"] == old_tags
    assert counts["tags_added"] == query(db, "SELECT count(*) FROM article_topics")[0][0] > 0
    assert query(db, "SELECT DISTINCT taxonomy_version FROM article_topics") == [(matcher.version,)]
    # one transaction per batch of 100: the batches' tagging times split the articles into hundreds
    sizes = query(db, "SELECT count(*) FROM article_tag_versions GROUP BY tagged_at ORDER BY 1 DESC")
    assert [size for (size,) in sizes] == [100] * (articles // 100) + (
        [articles % 100] if articles % 100 else []
    )
    before = stored_tags(db)
    again = retag_articles(db, matcher, COUNTRIES, batch_size=100)
    assert dict(again) == {"articles_stale": 0}
    assert stored_tags(db) == before


def test_retag_of_candidates_leaves_other_articles_alone(corpus_warehouse, tmp_path) -> None:
    matcher = get_matcher(None)
    db = copy_of(corpus_warehouse, tmp_path, "news.duckdb")
    candidates = ["article-0000", "article-0001", "article-0002", "not-stored"]
    counts = retag_articles(db, matcher, COUNTRIES, candidates=candidates, batch_size=2)
    assert counts["articles_retagged"] == 3
    retagged = {row[0] for row in query(db, "SELECT article_id FROM article_tag_versions")}
    assert retagged == set(candidates[:3])
    old = query(db, f"SELECT count(*) FROM article_topics WHERE taxonomy_version = '{OLD_VERSION}'")[0][0]
    assert old == query(corpus_warehouse, "SELECT count(*) FROM article_topics")[0][0] - 2


def test_a_batch_after_a_failed_write_is_not_written(corpus_warehouse, tmp_path) -> None:
    db = copy_of(corpus_warehouse, tmp_path, "news.duckdb")
    failed: Future = Future()
    failed.set_exception(duckdb.IOException("disk full"))
    before = stored_tags(db)
    tags = {
        "article_id": ["article-0001"],
        "topic_id": ["syria"],
        "score": [0.9],
        "evidence": ["{}"],
        "taxonomy_version": ["new"],
    }
    with duckdb.connect(str(db)) as connection:
        assert replace_tags_after(failed, connection, ["article-0001"], tags, "new") is None
    assert stored_tags(db) == before


def test_batches_are_regrouped_to_exact_sizes_across_record_batches() -> None:
    stream = [
        pa.record_batch({"article_id": [f"a{n}" for n in range(start, start + 4)]}) for start in (0, 4, 8)
    ]
    groups = list(group_batches(stream, 5))
    assert [sum(chunk.num_rows for chunk in group) for group in groups] == [5, 5, 2]
    assert [ids_of(group) for group in groups] == [
        ["a0", "a1", "a2", "a3", "a4"],
        ["a5", "a6", "a7", "a8", "a9"],
        ["a10", "a11"],
    ]


def test_every_stored_article_streams_once_in_chunks_also_after_deletes(corpus_warehouse, tmp_path) -> None:
    db = copy_of(corpus_warehouse, tmp_path, "stream.duckdb")
    with duckdb.connect(str(db)) as connection:
        connection.execute("DELETE FROM articles WHERE article_id IN ('article-0001', 'article-0004')")
        stored = sorted(row[0] for row in connection.execute("SELECT article_id FROM articles").fetchall())
        some = stored[::5]
        for rows_per_read in (1, 4, 1000):  # one range per article, ranges across the deleted rows, one range
            chunks = list(stream_articles(connection, None, 3, rows_per_read))
            picked = list(stream_articles(connection, some, 3, rows_per_read))
            streamed = [article_id for chunk in chunks for article_id in chunk.column("article_id").to_pylist()]
            assert sorted(streamed) == stored and len(set(streamed)) == len(streamed) > 3
            assert max(chunk.num_rows for chunk in chunks) <= min(3, rows_per_read)
            assert chunks[0].column_names == ["article_id", "title", "text", "feed_url", "canonical_url"]
            assert (
                sorted(article_id for chunk in picked for article_id in chunk.column("article_id").to_pylist())
                == some
            )


def test_articles_are_read_a_batch_at_a_time(corpus_warehouse, tmp_path) -> None:
    db = copy_of(corpus_warehouse, tmp_path, "ranges.duckdb")
    with duckdb.connect(str(db)) as connection:
        (stored,) = connection.execute("SELECT count(*) FROM articles").fetchone()
        stream = stream_articles(connection.cursor(), None, 2, 4)  # the retag reads on a cursor of its own
        first = next(stream)
        # The first read held 4 articles: the rest of the table is read only as the stream goes on.
        later = connection.execute("SELECT article_id FROM articles WHERE rowid >= 4").fetchall()
        connection.execute("DELETE FROM articles WHERE rowid >= 4")
        rest = list(stream)
    assert first.num_rows == 2 and len(later) == stored - 4 > 0
    assert sum(chunk.num_rows for chunk in rest) == 2  # the deleted articles were never read


def test_workers_and_this_process_share_chunks_and_tag_like_in_process(corpus_warehouse) -> None:
    matcher = get_matcher(None)
    rows = query(corpus_warehouse, "SELECT article_id, title, text, feed_url, canonical_url FROM articles")
    table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(ARTICLE_COLUMNS)})
    chunks = table.to_batches(max_chunksize=CHUNK_ARTICLES // 4)  # many chunks: both sides get some

    def tag_all(tagger, *args) -> list[tuple[list[str], dict[str, list]]]:
        with ThreadPoolExecutor(max_workers=1) as reader:
            batches = group_batches(iter(chunks), 120)
            return list(tagger(lambda: reader.submit(next, batches, None), matcher, COUNTRIES, *args))

    started = start_workers(matcher, 1)
    pool, _, warming = started
    try:
        worker_pids = {future.result(timeout=120) for future in warming}
        assert os.getpid() not in worker_pids  # ready before the first chunk: it gets chunks from the start
        pooled = tag_all(tag_in_pool, 1, started)
    finally:
        pool.shutdown(cancel_futures=True)
    serial = tag_all(tag_in_process)
    assert [ids for ids, _ in pooled] == [ids for ids, _ in serial]
    assert [tags for _, tags in pooled] == [tags for _, tags in serial]
    assert sum(len(tags["topic_id"]) for _, tags in serial) > len(rows)


def test_the_pool_joins_only_for_many_articles_on_cores_no_other_work_keeps_busy() -> None:
    assert pool_pays(POOL_MIN_ARTICLES, cores=2, load=0.3)
    assert pool_pays(POOL_MIN_ARTICLES * 4, cores=8, load=6.5)
    assert pool_pays(POOL_MIN_ARTICLES, cores=2, load=None)  # no load average: cores taken as free
    assert not pool_pays(POOL_MIN_ARTICLES - 1, cores=2, load=0.0)
    assert not pool_pays(POOL_MIN_ARTICLES * 4, cores=1, load=0.0)
    assert not pool_pays(POOL_MIN_ARTICLES * 4, cores=2, load=5.2)  # measured: it lost 8-16 % there
    load = read_load()
    assert load is None or load >= 0.0


@pytest.mark.skipif(not can_fork(), reason="helpers are forked only on Linux")
def test_retag_with_forked_helpers_writes_the_same_rows_as_in_process(corpus_warehouse, tmp_path) -> None:
    matcher = get_matcher(None)
    serial = copy_of(corpus_warehouse, tmp_path, "serial.duckdb")
    forked = copy_of(corpus_warehouse, tmp_path, "forked.duckdb")
    serial_counts = retag_articles(serial, matcher, COUNTRIES, force=True, batch_size=300, use_fork=False)
    forked_counts = retag_articles(
        forked, matcher, COUNTRIES, force=True, batch_size=300, workers=2, use_fork=True
    )
    assert forked_counts.pop("batches_forked") == -(-serial_counts["articles_retagged"] // 300)
    assert forked_counts == serial_counts
    assert stored_tags(forked) == stored_tags(serial)
    versions = "SELECT article_id, taxonomy_version FROM article_tag_versions ORDER BY article_id"
    assert query(forked, versions) == query(serial, versions)


def test_helpers_join_a_batch_only_on_cores_other_work_leaves_free() -> None:
    assert count_helpers(FORK_MIN_ARTICLES, cores=2, others=0.0) == 1
    assert count_helpers(1000, cores=2, others=0.4) == 1
    assert count_helpers(1000, cores=2, others=None) == 1  # unknown: taken as free
    assert count_helpers(1000, cores=2, others=0.8) == 0  # the other core is mostly taken
    assert count_helpers(1000, cores=2, others=3.0) == 0
    assert count_helpers(1000, cores=8, others=0.0) == 7
    assert count_helpers(1000, cores=8, others=2.3) == 5
    assert count_helpers(1000, cores=1, others=0.0) == 0
    assert count_helpers(FORK_MIN_ARTICLES - 1, cores=8, others=0.0) == 0
