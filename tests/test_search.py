"""Offline BM25 search over the seeded warehouse's lake."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from flows.cli import main
from tests.seeded import SEED_TITLE, copy_seeded_warehouse, make_small_warehouse, seed_article_path
from warehouse.db import open_warehouse
from warehouse.fts import find_fts_extension, load_fts
from warehouse.search import SearchUnavailable, UnknownTopic, make_snippet, search_articles


@pytest.fixture(scope="module")
def seeded(prefect_harness, tmp_path_factory):
    """A copy of the seeded warehouse."""
    return copy_seeded_warehouse(tmp_path_factory, "search")


@pytest.fixture
def snapshot(seeded):
    """A read-only connection to the seeded warehouse."""
    with open_warehouse(seeded, read_only=True) as connection:
        yield connection


def test_fts_extension_comes_from_the_installed_package():
    path = find_fts_extension()
    assert path.is_file()
    assert f"v{duckdb.__version__}" in path.parts


def test_fts_loads_without_network_on_a_fresh_connection():
    with duckdb.connect() as connection:
        connection.execute("SET autoinstall_known_extensions = false")
        connection.execute("SET autoload_known_extensions = false")
        load_fts(connection)
        assert connection.execute("SELECT stem('offensives', 'porter')").fetchone()[0] == "offens"


def test_seed_article_ranks_first_for_aleppo_offensive_nusra(snapshot):
    hits = search_articles(snapshot, "Aleppo offensive Nusra")
    assert hits[0].title == SEED_TITLE
    assert hits[0].canonical_url.endswith(seed_article_path())
    assert hits[0].has_all_words
    assert [h.score for h in hits if h.has_all_words] == sorted((h.score for h in hits if h.has_all_words),
                                                                 reverse=True)


def test_hits_are_distinct_canonical_stories(snapshot):
    hits = search_articles(snapshot, "Syria", limit=50)
    ids = [h.article_id for h in hits]
    assert len(ids) == len(set(ids))
    repeats = {row[0] for row in snapshot.execute("SELECT article_id FROM duplicates").fetchall()}
    assert not repeats & set(ids)


def test_topic_filter_keeps_only_tagged_stories(snapshot):
    hits = search_articles(snapshot, "fighters", topic="Al-Nusra Front", limit=50)
    assert hits
    tagged = {row[0] for row in snapshot.execute(
        "SELECT article_id FROM article_topics WHERE topic_id = 'al-nusra-front'").fetchall()}
    assert {h.article_id for h in hits} <= tagged
    assert len(hits) < len(search_articles(snapshot, "fighters", limit=50))


def test_since_filter_drops_older_stories(snapshot):
    since = datetime(2016, 6, 1)
    hits = search_articles(snapshot, "Syria", since=since, limit=50)
    assert hits
    assert all(h.published_at >= since for h in hits if h.published_at)
    assert len(hits) < len(search_articles(snapshot, "Syria", limit=50))


def test_unknown_topic_names_the_closest(snapshot):
    with pytest.raises(UnknownTopic, match="closest: Aleppo"):
        search_articles(snapshot, "offensive", topic="Alepo city")


def test_query_without_words_is_refused(snapshot):
    with pytest.raises(SearchUnavailable, match="no words"):
        search_articles(snapshot, "  -- ")


def test_articles_are_found_as_soon_as_they_are_loaded(tmp_path):
    small = make_small_warehouse(tmp_path / "news.duckdb")
    with open_warehouse(small, read_only=True) as connection:
        hits = search_articles(connection, "Geneva truce")
    assert [h.article_id for h in hits] == ["a3"]


def test_snippet_centres_on_a_query_word():
    text = "word " * 100 + "the Aleppo offensive began " + "word " * 100
    snippet = make_snippet(text, "aleppo", width=60)
    assert "Aleppo offensive" in snippet
    assert snippet.startswith("…") and snippet.endswith("…")


def test_search_command_prints_the_seed_article_first(seeded, capsys):
    assert main(["search", "Aleppo offensive Nusra", "--db", str(seeded), "--limit", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"1. {SEED_TITLE}"


def test_search_command_without_a_warehouse_is_one_clear_line(tmp_path, capsys):
    assert main(["search", "Aleppo", "--db", str(tmp_path / "news.duckdb")]) == 2
    error = capsys.readouterr().err
    assert "no warehouse at" in error and error.count("\n") == 1
