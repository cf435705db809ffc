"""Ingest end to end: seed feeds and pages served on 127.0.0.1, a real Prefect run, a real DuckDB file."""

from __future__ import annotations

import json

import pytest

from flows.ingest import ingest
from tests.conftest import SEEDS
from warehouse.db import open_warehouse

CASES = json.loads((SEEDS / "cases.json").read_text(encoding="utf-8"))
DATA_TABLES = ["entries", "raw_pages", "articles", "article_refs", "duplicates", "article_topics", "failures"]


@pytest.fixture(scope="module")
def ingested(prefect_harness, tmp_path_factory):
    """Run the ingest twice over the served seed site; keep both summaries and the warehouse path."""
    from tests.sites import serve_seed_site

    root = tmp_path_factory.mktemp("ingest")
    db = root / "news.duckdb"
    with serve_seed_site(root / "site") as site:
        first = ingest(sources=str(site.sources_path), db=str(db))
        with open_warehouse(db, read_only=True) as connection:
            counts_after_first = {
                t: connection.execute(f"select count(*) from {t}").fetchone()[0] for t in DATA_TABLES
            }
        second = ingest(sources=str(site.sources_path), db=str(db), force_poll=True)
        yield {
            "db": db,
            "site": site,
            "first": first,
            "second": second,
            "counts_after_first": counts_after_first,
        }


def query(ingested, sql, params=None):
    with open_warehouse(ingested["db"], read_only=True) as connection:
        return connection.execute(sql, params or []).fetchall()


def test_run_completes_and_is_recorded(ingested):
    first = ingested["first"]
    assert first["status"] == "completed"
    assert first["counts"]["feeds_ok"] == 4
    rows = query(
        ingested, "select status, counts->>'$.loaded_articles' from runs where run_id = ?", [first["run_id"]]
    )
    assert rows == [("completed", str(first["counts"]["loaded_articles"]))]


def test_seed_article_lands_clean_and_tagged(ingested):
    url = ingested["site"].url(CASES["seed_article"])
    rows = query(ingested, "select article_id, title, published_at, text from articles where url = ?", [url])
    assert len(rows) == 1
    article_id, title, published_at, text = rows[0]
    assert title == "Syria Al Qaeda Affiliate, Al-Nusra, Readies Major Aleppo Offensive"
    assert published_at.date().isoformat() == "2016-05-24"
    expected = (SEEDS / CASES["seed_article_text"]).read_text(encoding="utf-8").strip()
    assert text == expected
    assert "Screen Shot" not in text and CASES["seed_caption"][:40] not in text
    topics = {
        r[0]
        for r in query(ingested, "select topic_id from article_topics where article_id = ?", [article_id])
    }
    assert {"syria", "aleppo", "al-nusra-front"} <= topics


def test_off_topic_items_get_no_syria_tag(ingested):
    urls = [ingested["site"].url(u) for u in CASES["off_topic"]]
    rows = query(
        ingested,
        "select url, list(topic_id) from articles left join article_topics using (article_id) "
        "where url in (select unnest(?)) group by url",
        [urls],
    )
    assert len(rows) == len(urls)
    assert all("syria" not in (topics or []) for _, topics in rows)


def test_tracking_url_repost_is_a_url_duplicate(ingested):
    repost = ingested["site"].url(CASES["tracking_repost"])
    original = ingested["site"].url(CASES["tracking_repost_of"])
    assert query(ingested, "select count(*) from articles where url = ?", [repost]) == [(0,)]
    rows = query(
        ingested,
        "select d.method, a.url from duplicates d join articles a on a.article_id = d.duplicate_of "
        "where d.url = ?",
        [repost],
    )
    assert rows == [("url", original)]
    feeds = query(
        ingested,
        "select count(distinct (r.feed_url, r.guid)) from article_refs r join articles a "
        "using (article_id) where a.url = ?",
        [original],
    )
    assert feeds[0][0] >= 2  # both entries that carried it are kept


def test_identical_text_copy_is_a_content_duplicate(ingested):
    first, second = (ingested["site"].url(u) for u in CASES["exact_copy"])
    rows = query(
        ingested,
        """
        select d.method, dup.url, orig.url from duplicates d
        join articles dup on dup.article_id = d.article_id
        join articles orig on orig.article_id = d.duplicate_of
        where d.method = 'content_hash'""",
    )
    assert len(rows) == 1
    method, duplicate_url, original_url = rows[0]
    assert {duplicate_url, original_url} == {first, second}
    canonical = query(
        ingested, "select count(*) from canonical_articles where url in (?, ?)", [first, second]
    )
    assert canonical == [(1,)]


def test_404_and_malformed_entry_are_recorded_and_the_rest_lands(ingested):
    failures = query(
        ingested, "select stage, reason, url, feed_url, retry->>'$.guid' from failures order by stage"
    )
    by_reason = {(stage, reason): (url, feed_url, guid) for stage, reason, url, feed_url, guid in failures}
    assert by_reason[("fetch", "http_404")][0] == ingested["site"].url(CASES["page_404"])
    assert by_reason[("parse", "malformed_entry")][1] == ingested["site"].url(CASES["malformed_entry_feed"])
    assert by_reason[("parse", "malformed_entry")][2] == CASES["malformed_entry_guid"]
    assert len(failures) == 2
    entries = query(ingested, "select count(*) from entries")[0][0]
    articles = query(ingested, "select count(*) from articles")[0][0]
    url_duplicates = query(ingested, "select count(*) from duplicates where method = 'url'")[0][0]
    # Every entry is either an article, a URL duplicate of one, or one of the two recorded failures.
    assert articles + url_duplicates + 2 == entries


def test_second_run_adds_nothing(ingested):
    second = ingested["second"]
    assert second["status"] == "completed"
    # The server answered 200 again with the same bodies: counted unchanged by body hash, not re-parsed.
    assert second["counts"]["feeds_unchanged"] == 4
    assert second["counts"]["entries_new"] == 0
    after = {t: query(ingested, f"select count(*) from {t}")[0][0] for t in DATA_TABLES}
    assert after == ingested["counts_after_first"]


def test_keys_are_unique_and_not_null(ingested):
    checks = {
        "articles": "article_id",
        "entries": "feed_url || guid",
        "duplicates": "article_id",
        "topics": "topic_id",
        "article_topics": "article_id || topic_id",
        "raw_pages": "url",
    }
    for table, key in checks.items():
        total, distinct, nulls = query(
            ingested,
            f"select count(*), count(distinct {key}), count(*) filter (where {key} is null) from {table}",
        )[0]
        assert total == distinct and nulls == 0, table
    orphans = query(
        ingested,
        "select count(*) from article_topics t left join topics using (topic_id) "
        "where topics.topic_id is null",
    )
    assert orphans == [(0,)]


def test_run_records_each_stages_seconds(ingested):
    counts = ingested["first"]["counts"]
    assert all(counts[f"stage_s_{stage}"] > 0 for stage in ("entries", "pages", "articles", "load"))
    stored = query(ingested, "select counts->>'$.stage_s_pages' from runs where run_id = ?",
                   [ingested["first"]["run_id"]])
    assert float(stored[0][0]) == counts["stage_s_pages"]
