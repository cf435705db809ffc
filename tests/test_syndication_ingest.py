"""Syndicated copies through the real ingest flow: seed outlets on loopback, a Prefect run, a DuckDB file."""

from __future__ import annotations

import json

import pytest

from flows.ingest import ingest
from tests.conftest import SEEDS
from warehouse.db import open_warehouse

CASES = json.loads((SEEDS / "cases.json").read_text(encoding="utf-8"))
CLUSTER_TABLES = ["article_signatures", "article_bands", "duplicates"]


@pytest.fixture(scope="module")
def ingested(prefect_harness, tmp_path_factory):
    """Ingest the seed site, then again with every feed re-polled; keep the near-duplicate tables of both."""
    from tests.sites import serve_seed_site

    root = tmp_path_factory.mktemp("syndication")
    db = root / "news.duckdb"
    with serve_seed_site(root / "site") as site:
        ingest(sources=str(site.sources_path), db=str(db))
        with open_warehouse(db, read_only=True) as connection:
            before = {
                t: connection.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in CLUSTER_TABLES
            }
        second = ingest(sources=str(site.sources_path), db=str(db), force_poll=True)
        yield {"db": db, "site": site, "before": before, "second": second}


def query(ingested, sql, params=None):
    with open_warehouse(ingested["db"], read_only=True) as connection:
        return connection.execute(sql, params or []).fetchall()


def syndicated_ids(ingested) -> list[str]:
    urls = [ingested["site"].url(url) for url in CASES["syndicated"]]
    rows = query(ingested, "SELECT article_id FROM articles WHERE url IN (SELECT unnest(?))", [urls])
    assert len(rows) == 3  # three outlets, three pages with their own text
    return [r[0] for r in rows]


def test_three_outlets_of_one_wire_story_are_one_cluster(ingested):
    ids = syndicated_ids(ingested)
    clusters = query(
        ingested,
        "SELECT DISTINCT cluster_id FROM article_signatures WHERE list_contains(?, article_id)",
        [ids],
    )
    assert len(clusters) == 1
    story = query(
        ingested,
        "SELECT canonical_id, members, outlet_count, origin_source, wire_credit FROM story_clusters "
        "WHERE cluster_id = ?",
        [clusters[0][0]],
    )
    canonical_id, members, outlets, origin, credit = story[0]
    assert (members, outlets, credit) == (3, 3, "AP")
    canonical = query(
        ingested,
        "SELECT article_id, source FROM articles WHERE list_contains(?, article_id) "
        "ORDER BY published_at NULLS LAST, length(text) DESC, article_id LIMIT 1",
        [ids],
    )
    assert (canonical_id, origin) == canonical[0]
    assert query(
        ingested, "SELECT count(*) FROM canonical_articles WHERE list_contains(?, article_id)", [ids]
    ) == [(1,)]
    marks = query(
        ingested,
        "SELECT method, duplicate_of FROM duplicates WHERE list_contains(?, article_id) ORDER BY ALL",
        [ids],
    )
    assert marks == [("near_duplicate", canonical_id)] * 2


def test_wire_original_is_the_canonical_article(ingested):
    original = ingested["site"].url(CASES["syndicated"][0])
    assert "wire original" in CASES["syndicated_variants"][CASES["syndicated"][0]]
    rows = query(
        ingested,
        "SELECT s.canonical_url FROM story_clusters s JOIN articles a ON a.article_id = s.canonical_id "
        "WHERE a.url = ?",
        [original],
    )
    assert len(rows) == 1


def test_same_topic_reports_stay_apart(ingested):
    # Every other story of the seed site is its own cluster: many are about Aleppo, none repeats another.
    ids = syndicated_ids(ingested)
    exact = [ingested["site"].url(url) for url in CASES["exact_copy"]]
    crowded = query(
        ingested,
        "SELECT cluster_id, members FROM story_clusters WHERE members > 1 ORDER BY members DESC",
    )
    assert [members for _, members in crowded] == [3, 2]
    exact_cluster = query(
        ingested,
        "SELECT DISTINCT s.cluster_id FROM article_signatures s JOIN articles a USING (article_id) "
        "WHERE a.url IN (SELECT unnest(?))",
        [exact],
    )
    assert {cluster for cluster, _ in crowded} == {
        query(ingested, "SELECT cluster_id FROM article_signatures WHERE article_id = ?", [ids[0]])[0][0],
        exact_cluster[0][0],
    }
    aleppo_stories = query(
        ingested,
        "SELECT count(DISTINCT s.cluster_id) FROM article_signatures s JOIN article_topics t USING (article_id) "
        "WHERE t.topic_id = 'aleppo'",
    )[0][0]
    assert aleppo_stories >= 5


def test_every_article_is_signed_and_each_story_counted_once(ingested):
    articles, signed = query(
        ingested,
        "SELECT count(*), count(s.article_id) FROM articles a LEFT JOIN article_signatures s USING (article_id)",
    )[0]
    assert articles == signed
    assert query(ingested, "SELECT count(*) FROM story_clusters") == query(
        ingested, "SELECT count(*) FROM canonical_articles"
    )
    orphans = query(
        ingested,
        "SELECT count(*) FROM story_clusters s LEFT JOIN canonical_articles c ON c.article_id = s.canonical_id "
        "WHERE c.article_id IS NULL",
    )
    assert orphans == [(0,)]


def test_running_again_changes_nothing(ingested):
    assert ingested["second"]["status"] == "completed"
    after = {t: query(ingested, f"SELECT * FROM {t} ORDER BY ALL") for t in CLUSTER_TABLES}
    assert after == ingested["before"]
