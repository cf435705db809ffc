"""The snapshot's search index is built from the previous snapshot's: the same index as a full build, with only
new and changed articles tokenised."""

from __future__ import annotations

import logging
import shutil
from datetime import datetime

import duckdb
import pytest

from warehouse.fts import INFO_TABLE, SEARCH_SCHEMA, build_search_index, load_fts
from warehouse.migrate import apply_migrations
from warehouse.search import search_articles
from warehouse.snapshot import publish_snapshot, snapshot_path_for

VOCABULARY = (
    "Aleppo offensive rebels Nusra front Syria Damascus truce talks Geneva convoy aid siege Idlib Raqqa "
    "the of and in to a with by for on at from about négociations Ḥalab Mosul's 2016 U.S.-backed "
    "fighters shelled hospital ceasefire"
)
WORDS = VOCABULARY.split()


def article_text(number: int, edit: int = 0) -> str:
    """A text of its own per article number (and edit), from a small vocabulary with stop words, accents,
    digits and punctuation."""
    words = [WORDS[(number * 7 + i * (3 + edit)) % len(WORDS)] for i in range(20 + number % 9)]
    return " ".join(words) + f". Report {number}, edition {edit}!"


def insert_articles(connection: duckdb.DuckDBPyConnection, numbers: range) -> None:
    for number in numbers:
        url = f"https://outlet{number % 3}.example/story/{number}"
        title = None if number % 11 == 0 else f"Story {number}: {WORDS[number % len(WORDS)]} news"
        day = datetime(2016, 5, 1 + number % 20, 9)
        connection.execute(
            "INSERT INTO articles (article_id, canonical_url, url, final_url, source, title, published_at, text, "
            "word_count, content_hash, first_seen_at, updated_at, extractor_version, cleaner_version, run_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 20, ?, ?, ?, 'test', 'test', 'run-1')",
            [f"a{number:03d}", url, url, url, f"outlet{number % 3}.example", title, day, article_text(number),
             f"hash-{number}", day, day],
        )


def read_index(path) -> dict[str, object]:
    """The index as sets that do not depend on document or term numbers."""
    with duckdb.connect(str(path), read_only=True) as connection:
        load_fts(connection)
        s = SEARCH_SCHEMA
        return {
            "postings": sorted(connection.execute(
                f"SELECT d.name, t.fieldid, w.term FROM {s}.terms t JOIN {s}.docs d USING (docid) "
                f"JOIN {s}.dict w USING (termid)").fetchall()),
            "docs": sorted(connection.execute(f"SELECT name, len FROM {s}.docs").fetchall()),
            "dict": sorted(connection.execute(f"SELECT term, df FROM {s}.dict").fetchall()),
            "stats": connection.execute(f"SELECT num_docs, round(avgdl, 9) FROM {s}.stats").fetchall(),
            "hits": [(h.article_id, h.score) for query in ("Aleppo offensive", "négociations", "Ḥalab siege",
                                                           "U.S.-backed fighters", "edition 1")
                     for h in search_articles(connection, query, limit=100)],
            "docids": connection.execute(f"SELECT max(docid) + 1 - count(*) FROM {s}.docs").fetchone()[0],
        }


def full_index_of(live, tmp_path):
    """The index a build over every article gives, on a copy of the live file."""
    copy = tmp_path / "full.duckdb"
    shutil.copyfile(live, copy)
    with duckdb.connect(str(copy)) as connection:
        build_search_index(connection)
    return read_index(copy)


@pytest.fixture
def live(tmp_path):
    path = tmp_path / "news.duckdb"
    with duckdb.connect(str(path)) as connection:
        apply_migrations(connection)
        insert_articles(connection, range(40))
    publish_snapshot(path)
    return path


def change_articles(live) -> None:
    """New articles, edited ones, one found to repeat another (it leaves the canonical articles)."""
    with duckdb.connect(str(live)) as connection:
        insert_articles(connection, range(40, 55))
        for number in (3, 17, 29):
            connection.execute("UPDATE articles SET text = ? WHERE article_id = ?",
                               [article_text(number, edit=1), f"a{number:03d}"])
        connection.execute("UPDATE articles SET title = 'Aleppo offensive: a new title' WHERE article_id = 'a005'")
        connection.execute(
            "INSERT INTO duplicates (article_id, duplicate_of, similarity, method, url, detected_at, run_id) "
            "VALUES ('a008', 'a009', 1.0, 'content_hash', 'https://outlet2.example/story/8', "
            "TIMESTAMP '2016-05-09 12:00', 'run-2')"
        )


def test_an_index_built_on_the_previous_one_equals_a_full_build(live, tmp_path):
    first = read_index(snapshot_path_for(live))
    assert first["docids"] == 0  # the first snapshot had nothing to start from: documents numbered 0..n-1
    change_articles(live)
    publish_snapshot(live)
    merged = read_index(snapshot_path_for(live))
    full = full_index_of(live, tmp_path)
    assert merged["docids"] > 0  # kept documents kept their numbers: built on the previous index
    for part in ("postings", "docs", "dict", "stats", "hits"):
        assert merged[part] == full[part], part
    names = {name for name, _ in merged["docs"]}
    assert "a008" not in names and {"a040", "a054"} <= names
    assert merged["postings"] != first["postings"]
    assert any(hit[0] == "a005" for hit in merged["hits"])


def test_a_republish_with_no_change_keeps_every_posting(live, tmp_path):
    first = read_index(snapshot_path_for(live))
    publish_snapshot(live)
    again = read_index(snapshot_path_for(live))
    assert again == first


def test_an_index_of_other_options_is_rebuilt_whole(live, tmp_path):
    snapshot = snapshot_path_for(live)
    with duckdb.connect(str(snapshot)) as connection:
        connection.execute(f"UPDATE {INFO_TABLE} SET options = 'stemmer = none|duckdb 0.0'")
    change_articles(live)
    publish_snapshot(live)
    rebuilt = read_index(snapshot)
    assert rebuilt["docids"] == 0  # numbered afresh
    assert rebuilt == full_index_of(live, tmp_path) | {"docids": 0}


def test_an_unreadable_previous_snapshot_is_rebuilt_whole(live, tmp_path, caplog):
    snapshot = snapshot_path_for(live)
    snapshot.write_bytes(b"not a database" * 100)
    change_articles(live)
    with caplog.at_level(logging.WARNING, logger="newsdesk.warehouse"):
        publish_snapshot(live)
    rebuilt = read_index(snapshot)
    assert rebuilt == full_index_of(live, tmp_path)
    assert any("previous snapshot cannot be read" in record.getMessage() for record in caplog.records)
