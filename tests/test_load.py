"""Batches load through Arrow in one transaction; exact text copies become duplicates."""

from datetime import datetime

import duckdb
import pytest

from warehouse.load import LoadBatch, insert_rows, load_batch
from warehouse.migrate import apply_migrations


@pytest.fixture
def connection(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    apply_migrations(con)
    yield con
    con.close()


def article(article_id, url, content_hash, published, rank=0):
    return {
        "article_id": article_id,
        "canonical_url": url,
        "url": url,
        "final_url": url,
        "feed_url": None,
        "source": "a.example",
        "title": article_id,
        "byline": None,
        "published_at": published,
        "language": "en",
        "text": f"text of {content_hash}",
        "word_count": 3,
        "content_hash": content_hash,
        "categories": ["World"],
        "first_seen_at": datetime(2016, 6, 1),
        "updated_at": datetime(2016, 6, 1),
        "extractor_version": "x",
        "cleaner_version": "1",
        "run_id": "r1",
        "batch_rank": rank,
    }


def test_exact_copy_in_a_later_batch_is_a_duplicate(connection):
    load_batch(
        connection,
        LoadBatch("r1", articles=[article("a1", "https://a.example/1", "h", datetime(2016, 5, 1))]),
    )
    counts = load_batch(
        connection,
        LoadBatch("r2", articles=[article("a2", "https://b.example/2", "h", datetime(2016, 4, 1))]),
    )
    assert counts["articles"] == 1
    rows = connection.execute("SELECT article_id, duplicate_of, method FROM duplicates").fetchall()
    assert rows == [("a2", "a1", "content_hash")]  # the stored article stays canonical
    assert connection.execute("SELECT article_id FROM canonical_articles").fetchall() == [("a1",)]


def test_copies_within_one_batch_point_at_the_first(connection):
    batch = LoadBatch(
        "r1",
        articles=[
            article("a1", "https://a.example/1", "h", datetime(2016, 5, 1), rank=0),
            article("a2", "https://b.example/2", "h", datetime(2016, 5, 2), rank=1),
            article("a3", "https://c.example/3", "h", datetime(2016, 5, 3), rank=2),
            article("a4", "https://d.example/4", "other", datetime(2016, 5, 3), rank=3),
        ],
    )
    load_batch(connection, batch)
    rows = connection.execute("SELECT article_id, duplicate_of FROM duplicates ORDER BY 1").fetchall()
    assert rows == [("a2", "a1"), ("a3", "a1")]


def test_reloading_the_same_batch_adds_nothing(connection):
    batch = LoadBatch(
        "r1",
        articles=[article("a1", "https://a.example/1", "h", datetime(2016, 5, 1))],
        entries=[
            {
                "feed_url": "f",
                "guid": "g",
                "link": "https://a.example/1",
                "first_seen_at": datetime(2016, 6, 1),
                "run_id": "r1",
            }
        ],
    )
    load_batch(connection, batch)
    again = load_batch(connection, batch)
    assert again["articles"] == 0 and again["entries"] == 0


def test_failed_batch_leaves_nothing_behind(connection):
    good = article("a1", "https://a.example/1", "h", datetime(2016, 5, 1))
    bad_topic = {"article_id": "a1", "topic_id": None, "score": 1.0, "evidence": {}, "taxonomy_version": "v"}
    with pytest.raises(duckdb.Error):
        load_batch(connection, LoadBatch("r1", articles=[good], article_topics=[bad_topic]))
    assert connection.execute("SELECT count(*) FROM articles").fetchone()[0] == 0


def test_json_and_lists_round_trip(connection):
    insert_rows(
        connection,
        "article_topics",
        [
            {
                "article_id": "a",
                "topic_id": "syria",
                "score": 0.9,
                "evidence": {"forms": {"Syria": 2}},
                "taxonomy_version": "v1",
            }
        ],
    )
    value = connection.execute("SELECT evidence->>'$.forms.Syria' FROM article_topics").fetchone()[0]
    assert value == "2"
