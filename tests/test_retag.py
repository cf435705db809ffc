"""Retag of stored articles: the rows it writes, counts, batches, idempotence."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from flows.retag import group_batches, ids_of, retag_articles
from flows.stages.matchers import get_matcher
from tests.seeded import copy_warehouse
from transforms.topics import tag_article
from warehouse.article_tags import stream_articles
from warehouse.db import open_sibling_cursor, open_warehouse
from warehouse.load import to_arrow
from warehouse.migrate import apply_migrations

OLD_VERSION = "old-taxonomy"
# Source countries by feed URL and by site.
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
    with open_warehouse(path) as connection:
        apply_migrations(connection)
        connection.execute("BEGIN")  # one lake commit, not one per row
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
        connection.execute("COMMIT")
    return path


def copy_of(path: Path, tmp_path: Path, name: str) -> Path:
    """A private copy of a warehouse (its lake, data and page files) in a folder of `tmp_path` named after `name`."""
    folder = tmp_path / Path(name).stem
    folder.mkdir()
    return copy_warehouse(path, folder)


def query(path: Path, sql: str) -> list[tuple]:
    """Rows of one query on a read-only connection."""
    with open_warehouse(path, read_only=True) as connection:
        return connection.execute(sql).fetchall()


def stored_tags(path: Path) -> list[tuple]:
    """Every article_topics row, evidence as stored text, in a stable order."""
    return query(
        path,
        "SELECT article_id, topic_id, score, evidence::VARCHAR, taxonomy_version FROM article_topics "
        "ORDER BY article_id, topic_id",
    )


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
    with open_warehouse(db) as connection:
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
    with open_warehouse(db) as connection:
        (stored,) = connection.execute("SELECT count(*) FROM articles").fetchone()
        stream = stream_articles(open_sibling_cursor(connection), None, 2, 4)  # the retag reads on its own cursor
        first = next(stream)
        # The first read held 4 articles: the rest of the table is read only as the stream goes on.
        later = connection.execute("SELECT article_id FROM articles WHERE rowid >= 4").fetchall()
        connection.execute("DELETE FROM articles WHERE rowid >= 4")
        rest = list(stream)
    assert first.num_rows == 2 and len(later) == stored - 4 > 0
    assert sum(chunk.num_rows for chunk in rest) == 2  # the deleted articles were never read
