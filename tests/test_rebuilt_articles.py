"""Reprocessing on a real DuckDB file: which of a day's pages are stale, and what storing their rebuilds does."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.test_load import article, page_row, topic_row
from warehouse.db import open_warehouse
from warehouse.load import LoadBatch, load_batch
from warehouse.migrate import apply_migrations
from warehouse.rebuilt_articles import select_day_articles, select_reprocess_pages, store_rebuilt_articles

DAY = date(2016, 6, 1)
SEEN_AT = datetime(2016, 6, 3)


def fetched_on(row: dict, when: datetime) -> dict:
    """A raw page row fetched at `when`."""
    return {**row, "fetched_at": when}


@pytest.fixture
def connection(tmp_path):
    """A warehouse with three articles: a1 and a2 fetched on DAY, a3 the day after; a2 copies a1's text."""
    con = open_warehouse(tmp_path / "w.duckdb")
    apply_migrations(con)
    urls = {name: f"https://a.example/{name}" for name in ("a1", "a2", "a3")}
    load_batch(
        con,
        LoadBatch(
            "r1",
            raw_pages=[
                fetched_on(page_row(urls["a1"], b"one"), datetime(2016, 6, 1, 8)),
                fetched_on(page_row(urls["a2"], b"two"), datetime(2016, 6, 1, 23, 59)),
                fetched_on(page_row(urls["a3"], b"three"), datetime(2016, 6, 2, 0, 0)),
            ],
            articles=[
                article("a1", urls["a1"], "h1", datetime(2016, 5, 1), rank=0),
                article("a2", urls["a2"], "h1", datetime(2016, 5, 2), rank=1),
                article("a3", urls["a3"], "h3", datetime(2016, 5, 3), rank=2),
            ],
            article_topics=[topic_row("a1", "syria"), topic_row("a2", "syria")],
        ),
    )
    yield con
    con.close()


def rebuilt(article_id: str, content_hash: str, rank: int = 0) -> dict:
    """An article row as a newer extractor builds it."""
    row = article(
        article_id, f"https://a.example/{article_id}", content_hash, datetime(2016, 5, 2), rank=rank
    )
    return {**row, "text": f"rebuilt text of {content_hash}", "extractor_version": "y", "run_id": "r2"}


def failure(url: str) -> dict:
    """A failed rebuild's ledger row."""
    return {
        "run_id": "r2",
        "stage": "extract",
        "url": url,
        "reason": "empty_extraction",
        "failed_at": SEEN_AT,
    }


def test_stale_pages_are_the_days_built_by_another_extractor(connection) -> None:
    pages = select_reprocess_pages(connection, DAY, False, "y", "1")
    assert [(page["url"], page["article_id"]) for page in pages] == [
        ("https://a.example/a1", "a1"),
        ("https://a.example/a2", "a2"),
    ]
    assert select_reprocess_pages(connection, DAY, False, "x", "1") == []


def test_force_takes_every_page_of_the_day(connection) -> None:
    pages = select_reprocess_pages(connection, DAY, True, "x", "1")
    assert [page["article_id"] for page in pages] == ["a1", "a2"]


def test_day_articles_are_those_of_pages_fetched_that_day(connection) -> None:
    assert select_day_articles(connection, DAY) == ["a1", "a2"]
    assert select_day_articles(connection, date(2016, 6, 2)) == ["a3"]


def test_rebuild_replaces_text_and_tags_and_keeps_the_article(connection) -> None:
    tags = [topic_row("a2", "aleppo") | {"taxonomy_version": "v2"}]
    counts = store_rebuilt_articles(connection, [rebuilt("a2", "h2")], tags, [], "v2", "r2", SEEN_AT)
    assert counts["failed_extract"] == 0
    stored = connection.execute(
        "SELECT article_id, text, extractor_version, first_seen_at FROM articles WHERE article_id = 'a2'"
    ).fetchall()
    assert stored == [("a2", "rebuilt text of h2", "y", datetime(2016, 6, 1))]
    topics = connection.execute("SELECT article_id, topic_id FROM article_topics ORDER BY ALL").fetchall()
    assert topics == [("a1", "syria"), ("a2", "aleppo")]
    versions = connection.execute("SELECT article_id, taxonomy_version FROM article_tag_versions").fetchall()
    assert versions == [("a2", "v2")]


def test_a_rebuilt_text_that_changed_is_no_longer_a_content_copy(connection) -> None:
    marks = "SELECT article_id, duplicate_of FROM duplicates WHERE method = 'content_hash' ORDER BY ALL"
    assert connection.execute(marks).fetchall() == [("a2", "a1")]
    store_rebuilt_articles(connection, [rebuilt("a2", "h2")], [], [], "v", "r2", SEEN_AT)
    assert connection.execute(marks).fetchall() == []
    store_rebuilt_articles(connection, [rebuilt("a3", "h2")], [], [], "v", "r3", SEEN_AT)
    assert connection.execute(marks).fetchall() == [("a3", "a2")]


def test_failed_rebuilds_are_recorded_and_the_stored_article_stays(connection) -> None:
    counts = store_rebuilt_articles(connection, [], [], [failure("https://a.example/a1")], "v", "r2", SEEN_AT)
    assert counts == {"failed_extract": 1}
    assert connection.execute("SELECT reason FROM failures").fetchall() == [("empty_extraction",)]
    assert connection.execute("SELECT text FROM articles WHERE article_id = 'a1'").fetchone() == (
        "text of h1",
    )


def test_a_rebuilt_article_replaces_its_search_document(connection) -> None:
    row = rebuilt("a2", "h2") | {"first_seen_at": SEEN_AT}  # as reprocess builds it: seen at the rebuild
    store_rebuilt_articles(connection, [row], [], [], "v", "r2", SEEN_AT)
    live = connection.execute("SELECT sum(documents) FROM search_stats").fetchone()[0]
    assert live == 3  # a1, a2 (its rebuilt text only), a3
    found = connection.execute(
        "SELECT article_id FROM search_documents ANTI JOIN search_replaced USING (doc_id) ORDER BY ALL"
    ).fetchall()
    assert found == [("a1",), ("a2",), ("a3",)]
