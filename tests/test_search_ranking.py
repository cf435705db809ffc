"""The lake's top-k ranking (warehouse/ranking.py) against the exact SQL macro, deeper reads, the migration that
brought lengths into postings, and indexing by several processes at once, each on a real lake in tmp_path."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from tests.conftest import REPO
from tests.test_search_postings import SEEN, article, ids, insert_and_index, store
from warehouse import top_documents
from warehouse.db import run_transaction
from warehouse.lake import LakeSettings, open_lake
from warehouse.migrate import MIGRATIONS_DIR, apply_migrations
from warehouse.postings import install_search_macros
from warehouse.search import SearchUnavailable, search_articles

WORDS = ["harbour", "strike", "ferry", "union", "wages", "port", "dockers", "council", "vote", "talks"]


@pytest.fixture
def lake(tmp_path):
    """A migrated lake in tmp_path, in use."""
    with open_lake(LakeSettings(catalog_path=str(tmp_path / "x.lake.sqlite"))) as connection:
        apply_migrations(connection)
        connection.execute("INSERT INTO topics VALUES ('war', 'War', 'subject', [], 't')")
        yield connection


@pytest.fixture
def bounded(monkeypatch):
    """Candidates first whatever the number of postings (a small lake's would all be scored)."""
    monkeypatch.setattr(top_documents, "EXHAUSTIVE_POSTINGS", 0)


def sql_ranking(connection, query: str, limit: int, **filters) -> list[str]:
    """The article ids search_ranked (the exact SQL path) puts first."""
    install_search_macros(connection)
    arguments = "".join(f", {name} := ${name}" for name in filters)
    rows = connection.execute(
        f"SELECT article_id FROM search_ranked($query{arguments}) "
        "ORDER BY has_all_words DESC, score DESC, dated_at, article_id LIMIT $limit",
        {"query": query, "limit": limit, **filters},
    ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.parametrize("postings_scored", [0, top_documents.EXHAUSTIVE_POSTINGS])
def test_top_k_ranking_equals_the_sql_macro(lake, monkeypatch, postings_scored):
    monkeypatch.setattr(top_documents, "EXHAUSTIVE_POSTINGS", postings_scored)
    rows = [
        article(
            f"a{i}",
            f"{WORDS[i % 10]} {WORDS[(i * 3) % 10]}",
            " ".join(WORDS[(i * k) % 10] for k in range(1, 2 + i % 9)),
            published=datetime(2024, 1, 1) + timedelta(days=i),
        )
        for i in range(60)
    ]
    store(lake, *rows)
    lake.execute(
        "INSERT INTO article_topics SELECT 'a' || i, 'war', 1.0, NULL, 't' FROM range(0, 60, 3) r(i)"
    )
    lake.execute(
        "INSERT INTO duplicates VALUES ('a7', 'a1', 1.0, 'content_hash', NULL, $t, 't')", {"t": SEEN}
    )
    for query in ("harbour", "strike ferry", "union wages port", "dockers council vote talks"):
        assert ids(search_articles(lake, query, limit=7)) == sql_ranking(lake, query, 7)
        since = datetime(2024, 2, 1)
        assert ids(search_articles(lake, query, since=since, limit=5)) == sql_ranking(
            lake, query, 5, since=since
        )
        assert ids(search_articles(lake, query, topic="war", limit=5)) == sql_ranking(
            lake, query, 5, topic="war"
        )


def test_one_word_in_few_titles_still_ranks_the_texts_that_hold_it(lake, bounded):
    texts = [article(f"text{i}", "Weather", "Harbour " * (1 + i % 4) + "news.") for i in range(15)]
    store(lake, article("title", "Harbour closed", "Storm."), *texts)
    hits = search_articles(lake, "harbour", limit=10)
    assert ids(hits)[0] == "title"
    assert ids(hits) == sql_ranking(lake, "harbour", 10)


def test_documents_without_the_rarest_word_rank_after_those_with_every_word(lake, bounded):
    common = [article(f"port{i}", "Port port", "The port " * (1 + i % 3)) for i in range(30)]
    store(lake, article("both", "Fishing", "A port and a trawler."), *common)
    hits = search_articles(lake, "port trawler", limit=12)
    assert ids(hits)[0] == "both" and hits[0].has_all_words
    assert ids(hits) == sql_ranking(lake, "port trawler", 12)


def test_ranking_reads_deeper_when_duplicates_fill_the_top(lake, bounded):
    copies = [article(f"copy{i}", "Comet comet", "A comet, the comet.") for i in range(40)]
    originals = [article("first", "Sky news", "A comet was seen."), article("second", "Night", "Comet seen.")]
    store(lake, *copies, *originals)
    lake.execute(
        "INSERT INTO duplicates SELECT 'copy' || i, 'first', 1.0, 'content_hash', NULL, $t, 't' FROM range(40) r(i)",
        {"t": SEEN},
    )
    assert sorted(ids(search_articles(lake, "comet", limit=2))) == ["first", "second"]


def test_ties_at_the_cut_are_ordered_as_in_sql(lake, bounded):
    dated = [
        article(f"t{i:02}", "Eclipse", "An eclipse.", published=datetime(2024, 5, 1) - timedelta(days=i))
        for i in range(40)
    ]
    store(lake, *dated)
    hits = search_articles(lake, "eclipse", limit=3)
    assert ids(hits) == ["t39", "t38", "t37"] == sql_ranking(lake, "eclipse", 3)
    assert len({hit.score for hit in hits}) == 1


def test_documents_are_numbered_by_the_minute_their_article_was_first_seen(lake):
    store(lake, article("a", "Budget", "Parliament passed the budget."))
    doc_id, first_seen = lake.execute("SELECT doc_id, first_seen_at FROM search_documents").fetchone()
    assert first_seen == SEEN
    assert doc_id >> 38 == int((SEEN - datetime(1970, 1, 1)).total_seconds()) // 60


def test_a_changed_article_replaces_its_document(lake):
    store(lake, article("a", "Flood", "Rivers rose."))
    store(lake, article("a", "Drought", "Reservoirs fell."))
    replaced = lake.execute("SELECT doc_id FROM search_replaced").fetchall()
    oldest = lake.execute("SELECT doc_id FROM search_documents ORDER BY indexed_at LIMIT 1").fetchall()
    assert replaced == oldest
    assert lake.execute("SELECT sum(documents) FROM search_stats").fetchone()[0] == 1


def test_migration_gives_old_postings_their_lengths_and_lists_replaced_documents(tmp_path):
    old = tmp_path / "migrations"
    old.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("001[1-4]_*.sql")):
        shutil.copy(path, old / path.name)
    with open_lake(LakeSettings(catalog_path=str(tmp_path / "x.lake.sqlite"))) as connection:
        assert apply_migrations(connection, old) == 14
        insert_old_layout(connection)
        assert apply_migrations(connection) > 14
        lengths = connection.execute(
            "SELECT DISTINCT body_terms, title_terms FROM search_postings"
        ).fetchall()
        assert lengths == [(2, 1)]
        assert connection.execute("SELECT doc_id FROM search_replaced").fetchall() == [(1,)]
        assert ids(search_articles(connection, "reservoir")) == ["a"]
        assert search_articles(connection, "river") == []


def test_a_warehouse_without_the_search_tables_says_so(tmp_path):
    old = tmp_path / "migrations"
    old.mkdir()
    shutil.copy(next(MIGRATIONS_DIR.glob("0011_*.sql")), old)
    with open_lake(LakeSettings(catalog_path=str(tmp_path / "x.lake.sqlite"))) as connection:
        assert apply_migrations(connection, old) == 11
        with pytest.raises(SearchUnavailable, match="no search index"):
            search_articles(connection, "harbour strike")


def insert_old_layout(connection) -> None:
    """Article a indexed twice (documents 1 then 2) as schema 14 kept it: postings without lengths."""
    connection.execute(
        "INSERT INTO articles (article_id, canonical_url, url, final_url, source, title, text, word_count, "
        "content_hash, first_seen_at, updated_at, extractor_version, cleaner_version, run_id) VALUES "
        "('a', 'u', 'u', 'u', 's', 'Drought', 'Reservoirs.', 1, 'h', $t, $t, 'x', 'x', 'r')",
        {"t": SEEN},
    )
    connection.execute(
        "INSERT INTO search_documents VALUES (1, 'a', 'f1', $t, $t, 2, 1, $t), (2, 'a', 'f2', $t, $t, 2, 1, $u)",
        {"t": SEEN, "u": SEEN + timedelta(hours=1)},
    )
    connection.execute(
        "INSERT INTO search_postings VALUES ('flood', 1, 1, 1), ('river', 1, 1, 0), "
        "('drought', 2, 1, 1), ('reservoir', 2, 1, 0)"
    )
    connection.execute("INSERT INTO search_stats VALUES ($t, 1, 2, 1)", {"t": SEEN})


def test_two_processes_index_the_same_articles_once(tmp_path):
    settings = LakeSettings(catalog_path=str(tmp_path / "x.lake.sqlite"))
    with open_lake(settings) as connection:
        apply_migrations(connection)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.test_search_ranking", settings.catalog_path, text],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for text in ("A lighthouse keeper.", "A lighthouse keeper.")
    ]
    for process in workers:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    with open_lake(settings) as connection:
        found = ids(search_articles(connection, "lighthouse", limit=100))
        documents = connection.execute("SELECT sum(documents) FROM search_stats").fetchone()[0]
        live = connection.execute(
            "SELECT count(*) FROM search_documents ANTI JOIN search_replaced USING (doc_id)"
        ).fetchone()[0]
    assert sorted(found) == sorted(f"shared{i}" for i in range(20))
    assert documents == live == 20


def run_worker(catalog_path: str, text: str) -> None:
    """A writer process: 4 ticketed batches of the same 20 articles as the other worker's."""
    with open_lake(LakeSettings(catalog_path=catalog_path)) as connection:
        indexed = 0
        for batch in range(4):
            rows = [article(f"shared{batch * 5 + i}", "Lighthouse", text) for i in range(5)]
            indexed += run_transaction(connection, lambda c, rows=rows: insert_and_index(c, rows))
    print(json.dumps({"indexed": indexed}))


if __name__ == "__main__":
    run_worker(sys.argv[1], sys.argv[2])
