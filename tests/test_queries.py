"""docs/queries.sql and the analysis views, run on the seeded warehouse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.seeded import copy_seeded_warehouse
from warehouse.db import open_warehouse
from warehouse.postings import install_search_macros

QUERIES_FILE = Path(__file__).resolve().parent.parent / "docs" / "queries.sql"
NAME = re.compile(r"^-- name: ([a-z0-9_]+)$", re.MULTILINE)


def read_named_queries() -> dict[str, str]:
    """The queries of docs/queries.sql, by the name in their `-- name:` line."""
    text = QUERIES_FILE.read_text(encoding="utf-8")
    names = NAME.findall(text)
    bodies = NAME.split(text)[2::2]
    return {name: body.strip() for name, body in zip(names, bodies, strict=True)}


QUERIES = read_named_queries()


@pytest.fixture(scope="module")
def snapshot(prefect_harness, tmp_path_factory):
    """A read-only connection to a copy of the seeded warehouse, with the search macros `newsdesk sql` has."""
    live = copy_seeded_warehouse(tmp_path_factory, "queries")
    with open_warehouse(live, read_only=True) as connection:
        install_search_macros(connection)
        yield connection


def test_queries_file_has_ten_distinct_documented_queries():
    text = QUERIES_FILE.read_text(encoding="utf-8")
    names = NAME.findall(text)
    assert len(names) >= 10
    assert len(names) == len(set(names))
    for name, body in QUERIES.items():
        assert body.startswith("-- "), f"{name} has no description line"
        code = "\n".join(line for line in body.splitlines() if not line.startswith("--"))
        assert code.count(";") == 1 and code.endswith(";"), f"{name} must be exactly one statement"


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_runs_on_the_seeded_warehouse(snapshot, name):
    cursor = snapshot.execute(QUERIES[name])
    assert cursor.description, name
    cursor.fetchall()


def test_aleppo_stories_per_day_counts_each_story_once(snapshot):
    rows = snapshot.execute(QUERIES["aleppo_stories_per_day"]).fetchall()
    tagged = snapshot.execute(
        "SELECT count(DISTINCT article_id) FROM article_topics JOIN canonical_articles USING (article_id) "
        "WHERE topic_id = 'aleppo'"
    ).fetchone()[0]
    assert tagged > 0
    assert sum(stories for _, stories in rows) == tagged


def test_nusra_co_topics_include_aleppo(snapshot):
    labels = [row[0] for row in snapshot.execute(QUERIES["topics_co_occurring_with_al_nusra"]).fetchall()]
    assert "Aleppo" in labels
    assert "Al-Nusra Front" not in labels


def test_search_query_finds_the_seed_article(snapshot):
    titles = [row[0] for row in snapshot.execute(QUERIES["full_text_search"]).fetchall()]
    assert "Syria Al Qaeda Affiliate, Al-Nusra, Readies Major Aleppo Offensive" in titles[:3]


def test_feed_health_has_one_row_per_feed_with_its_polls(snapshot):
    rows = snapshot.execute("SELECT feed_url, polls, items FROM feed_health").fetchall()
    feeds = snapshot.execute("SELECT count(*) FROM feeds").fetchone()[0]
    assert len(rows) == feeds == len({row[0] for row in rows})
    assert all(row[0] is not None for row in rows)
    polls = snapshot.execute("SELECT count(*) FROM fetches WHERE kind = 'feed'").fetchone()[0]
    assert sum(row[1] for row in rows) == polls
    assert sum(row[2] for row in rows) == snapshot.execute("SELECT count(*) FROM entries").fetchone()[0]


def test_feed_health_shares_are_fractions(snapshot):
    shares = snapshot.execute("SELECT not_modified_share, failed_share FROM feed_health").fetchall()
    assert all(0 <= value <= 1 for row in shares for value in row if value is not None)


def test_source_daily_keys_are_unique_and_totals_match(snapshot):
    keys = snapshot.execute("SELECT day, source FROM source_daily").fetchall()
    assert len(keys) == len(set(keys))
    assert all(day is not None and source is not None for day, source in keys)
    pages, stories, repeats = snapshot.execute(
        "SELECT sum(articles), sum(stories), sum(repeats) FROM source_daily"
    ).fetchone()
    assert pages == snapshot.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert stories == snapshot.execute("SELECT count(*) FROM canonical_articles").fetchone()[0]
    assert pages == stories + repeats


def test_syndicated_stories_are_the_clusters_of_several_articles(snapshot):
    rows = snapshot.execute(
        "SELECT cluster_id, canonical_id, members, outlet_count FROM syndicated_stories ORDER BY cluster_id"
    ).fetchall()
    expected = snapshot.execute(
        "SELECT cluster_id, canonical_id, members, outlet_count FROM story_clusters WHERE members > 1 "
        "ORDER BY cluster_id"
    ).fetchall()
    assert rows and rows == expected
    assert len({row[0] for row in rows}) == len(rows) and all(row[0] and row[1] for row in rows)
    in_clusters = snapshot.execute(
        "SELECT count(*) FROM article_signatures WHERE cluster_id IN (SELECT cluster_id FROM syndicated_stories)"
    ).fetchone()[0]
    assert in_clusters == sum(row[2] for row in rows)
    assert all(row[2] >= 2 and row[3] >= 1 for row in rows)


def test_every_view_is_described_in_the_docs():
    from warehouse.migrate import VIEWS_DIR

    analysis = (QUERIES_FILE.parent / "analysis.md").read_text(encoding="utf-8")
    rows = {}
    for line in analysis.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3:
            rows[cells[0].strip("`")] = cells
    for path in sorted(VIEWS_DIR.glob("*.sql")):
        assert path.stem in rows, f"view {path.stem} is missing from the views table of docs/analysis.md"
        assert all(rows[path.stem][1:]), f"view {path.stem} has an empty row in docs/analysis.md"
