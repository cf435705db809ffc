"""Search over the lake's append-only postings (warehouse/postings.py), each test on a real lake in tmp_path."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import datetime

import pyarrow as pa
import pytest

from tests.conftest import REPO
from warehouse.lake import LakeSettings, open_lake, write_with_retry
from warehouse.migrate import apply_migrations
from warehouse.postings import has_search_postings, index_articles, install_search_macros
from warehouse.search import SearchUnavailable, UnknownTopic, search_articles

SEEN = datetime(2024, 3, 1, 8, 0)
INSERT_ARTICLE = (
    "INSERT INTO articles (article_id, canonical_url, url, final_url, source, title, published_at, text, "
    "word_count, content_hash, first_seen_at, updated_at, extractor_version, cleaner_version, run_id) "
    "VALUES ($id, $url, $url, $url, 'example', $title, $published, $text, 1, md5($text), $seen, $updated, "
    "'x', 'x', 'test')"
)


@pytest.fixture
def lake(tmp_path):
    """A migrated lake in tmp_path, in use."""
    settings = LakeSettings(catalog_path=str(tmp_path / "x.lake.sqlite"))
    with open_lake(settings) as connection:
        apply_migrations(connection)
        connection.execute("INSERT INTO topics VALUES ('war', 'War', 'subject', [], 't')")
        yield connection


def article(article_id: str, title: str, text: str, published: datetime | None = None) -> dict:
    """One article row as the load has it."""
    return {
        "article_id": article_id,
        "title": title,
        "text": text,
        "published_at": published,
        "first_seen_at": SEEN,
    }


def store(connection, *rows: dict) -> pa.Table:
    """Insert the rows into articles (a changed article as a later row) and index them, one commit."""
    write_with_retry(connection, lambda c: insert_and_index(c, list(rows)))
    return pa.Table.from_pylist(list(rows))


def ids(hits) -> list[str]:
    """The article ids of search hits, in rank order."""
    return [hit.article_id for hit in hits]


def test_migration_makes_the_postings_tables(lake):
    assert has_search_postings(lake)


def test_stories_with_every_word_come_before_better_scores_on_one(lake):
    store(
        lake,
        article("both", "Market report", "Aleppo saw an offensive this week."),
        article("one", "Aleppo Aleppo", "Aleppo Aleppo Aleppo, the city of Aleppo, under fire in Aleppo."),
    )
    hits = search_articles(lake, "Aleppo offensive")
    assert ids(hits) == ["both", "one"]
    assert [hit.has_all_words for hit in hits] == [True, False]
    assert hits[0].title == "Market report" and "offensive" in hits[0].snippet


def test_a_word_in_the_title_outranks_the_same_word_in_the_text(lake):
    filler = " ".join(["farmers harvest wheat"] * 5)
    store(
        lake,
        article("in_text", "Farm news", f"{filler} and a ceasefire was announced."),
        article("in_title", "Ceasefire announced", f"{filler} and it was announced."),
    )
    hits = search_articles(lake, "ceasefire")
    assert ids(hits) == ["in_title", "in_text"]
    assert hits[0].score > hits[1].score


def test_words_are_stemmed_lowered_and_stripped_of_accents(lake):
    store(lake, article("a", "Élections", "The offensives continued."))
    assert ids(search_articles(lake, "election offensive")) == ["a"]


def test_a_changed_article_is_found_by_its_new_words_and_not_its_old_ones(lake):
    store(lake, article("a", "Flood warning", "Rivers rose in the valley."))
    store(lake, article("a", "Drought warning", "Reservoirs fell in the valley."))
    assert ids(search_articles(lake, "reservoirs")) == ["a"]
    assert search_articles(lake, "rivers") == []
    assert search_articles(lake, "drought")[0].title == "Drought warning"
    assert len(search_articles(lake, "valley warning")) == 1


def test_indexing_the_same_article_twice_adds_nothing(lake):
    batch = store(lake, article("a", "Budget vote", "Parliament passed the budget."))
    counts = "SELECT (SELECT count(*) FROM search_postings), (SELECT count(*) FROM search_documents)"
    before = lake.execute(counts).fetchone()
    assert write_with_retry(lake, lambda c: index_articles(c, batch)) == 0
    assert lake.execute(counts).fetchone() == before
    assert lake.execute("SELECT sum(documents) FROM search_stats").fetchone()[0] == 1
    hits = search_articles(lake, "budget")
    assert len(hits) == 1


def test_a_batch_of_new_and_changed_articles_looks_up_only_the_changed_ones(lake):
    store(lake, article("old", "Flood warning", "Rivers rose in the valley."))
    rows = [article("old", "Drought warning", "Reservoirs fell."), article("new", "Harvest", "Wheat was cut.")]
    assert write_with_retry(lake, lambda c: insert_and_index(c, rows, new_ids={"new"})) == 2
    assert search_articles(lake, "rivers") == []  # the changed article's earlier document was replaced
    assert ids(search_articles(lake, "reservoirs wheat")) in (["old", "new"], ["new", "old"])
    assert lake.execute("SELECT sum(documents) FROM search_stats").fetchone()[0] == 2


def test_an_article_changed_back_is_indexed_again_and_counted_once(lake):
    store(lake, article("a", "Strike", "Dockers strike at the port."))
    store(lake, article("a", "Strike over", "Dockers return to work."))
    store(lake, article("a", "Strike", "Dockers strike at the port."))
    assert ids(search_articles(lake, "port")) == ["a"]
    assert search_articles(lake, "return") == []
    assert lake.execute("SELECT sum(documents) FROM search_stats").fetchone()[0] == 1


def test_topic_filter_keeps_only_tagged_stories(lake):
    store(
        lake,
        article("tagged", "Border clash", "Troops clashed."),
        article("other", "Clash of bands", "Music."),
    )
    lake.execute("INSERT INTO article_topics VALUES ('tagged', 'war', 1.0, NULL, 't')")
    assert ids(search_articles(lake, "clash", topic="War")) == ["tagged"]
    assert sorted(ids(search_articles(lake, "clash"))) == ["other", "tagged"]
    with pytest.raises(UnknownTopic):
        search_articles(lake, "clash", topic="Peace talks")


def test_since_filter_drops_older_stories(lake):
    store(
        lake,
        article("old", "Harvest", "Grain prices.", published=datetime(2023, 5, 1)),
        article("new", "Harvest", "Grain prices.", published=datetime(2024, 5, 1)),
    )
    assert ids(search_articles(lake, "grain", since=datetime(2024, 1, 1))) == ["new"]
    assert len(search_articles(lake, "grain")) == 2


def test_duplicates_are_left_out(lake):
    store(
        lake, article("first", "Eclipse", "The eclipse was seen."), article("copy", "Eclipse", "The eclipse.")
    )
    lake.execute(
        "INSERT INTO duplicates VALUES ('copy', 'first', 1.0, 'content_hash', NULL, $t, 't')", {"t": SEEN}
    )
    assert ids(search_articles(lake, "eclipse")) == ["first"]


def test_queries_without_indexable_words(lake):
    store(lake, article("a", "Note", "Some text."))
    assert search_articles(lake, "the and of") == []
    with pytest.raises(SearchUnavailable):
        search_articles(lake, "  ")


def test_analysts_rank_from_sql(lake):
    store(
        lake, article("a", "Vaccine trial", "A vaccine trial began."), article("b", "Trial", "Court trial.")
    )
    install_search_macros(lake)
    rows = lake.execute(
        "SELECT article_id, has_all_words FROM search_ranked('vaccine trials') "
        "ORDER BY has_all_words DESC, score DESC"
    ).fetchall()
    assert rows == [("a", True), ("b", False)]


def test_scores_are_bm25_as_written_out_by_hand(lake):
    store(lake, article("a", "Harbour", "Harbour gull gull."), article("b", "Gull", "Zebra zebra zebra."))
    install_search_macros(lake)
    score, body, title = lake.execute(
        "SELECT score, body_score, title_score FROM search_ranked('harbour', title_weight := 2.0)"
    ).fetchone()
    # Two documents of 4 terms (title + text) and 1 title term each; 'harbour' in one: idf = ln(1 + 1.5 / 1.5).
    idf = math.log(2)
    assert body == pytest.approx(idf * 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 4 / 4)))
    assert title == pytest.approx(idf * 1 * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 1 / 1)))
    assert score == pytest.approx(body + 2 * title, abs=1e-4)
    assert [hit.score for hit in search_articles(lake, "harbour")] == [pytest.approx(score, abs=1e-4)]


def test_two_processes_index_at_once(tmp_path):
    settings = LakeSettings(catalog_path=str(tmp_path / "x.lake.sqlite"))
    with open_lake(settings) as connection:
        apply_migrations(connection)
    worker = "tests.test_search_postings"  # this file, run as a process: see run_worker
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", worker, settings.catalog_path, prefix],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("left", "right")
    ]
    for process in workers:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        assert json.loads(stdout.strip().splitlines()[-1])["indexed"] == 20
    with open_lake(settings) as connection:
        found = {hit.article_id for hit in search_articles(connection, "lighthouse", limit=100)}
        documents = connection.execute("SELECT sum(documents) FROM search_stats").fetchone()[0]
    assert found == {f"{side}{i}" for side in ("left", "right") for i in range(20)}
    assert documents == 40


def run_worker(catalog_path: str, prefix: str) -> None:
    """A writer process: 4 batches of 5 articles, each inserted and indexed in one transaction."""
    with open_lake(LakeSettings(catalog_path=catalog_path)) as connection:
        indexed = 0
        for batch in range(4):
            rows = [
                article(
                    f"{prefix}{batch * 5 + i}", f"Lighthouse {prefix}", f"A lighthouse keeper, {prefix} {i}."
                )
                for i in range(5)
            ]
            indexed += write_with_retry(connection, lambda c, rows=rows: insert_and_index(c, rows))
    print(json.dumps({"indexed": indexed}))


def insert_and_index(connection, rows: list[dict], new_ids: frozenset[str] = frozenset()) -> int:
    """What the load does in one transaction: insert the articles, then index them (`new_ids`: those not
    stored before)."""
    for row in rows:
        connection.execute(
            INSERT_ARTICLE,
            {
                "id": row["article_id"],
                "url": f"https://example.org/{row['article_id']}",
                "title": row["title"],
                "published": row["published_at"],
                "text": row["text"],
                "seen": row["first_seen_at"],
                "updated": datetime.now(),
            },
        )
    return index_articles(connection, pa.Table.from_pylist(rows), new_ids=new_ids)


if __name__ == "__main__":
    run_worker(sys.argv[1], sys.argv[2])
