"""Batches load through Arrow in one transaction; exact text copies become duplicates."""

import hashlib
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from transforms.near_dupes import compute_minhash
from warehouse.load import LoadBatch, insert_rows, load_batch
from warehouse.page_files import attach_page_bodies, pages_dir_for


def lake_catalog_of(connection):
    """The SQLite catalog file of the connection's lake (a `--db` value naming it)."""
    path = connection.execute("SELECT path FROM duckdb_databases() WHERE database_name = 'lake'").fetchone()[0]
    return Path(path.removeprefix("sqlite:"))


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


# The key of every table whose uniqueness the load keeps (no constraint since migration 0004).
TABLE_KEYS = {
    "entries": ("feed_url", "guid"),
    "raw_pages": ("url",),
    "articles": ("article_id",),
    "article_refs": ("article_id", "feed_url", "guid"),
    "duplicates": ("article_id",),
    "article_topics": ("article_id", "topic_id"),
    "article_signatures": ("article_id",),
    "article_bands": ("article_id", "band"),
}


def entry_row(guid, link, title="T"):
    return {
        "feed_url": "f",
        "guid": guid,
        "link": link,
        "title": title,
        "first_seen_at": datetime(2016, 6, 1),
        "run_id": "r1",
    }


def page_row(url, body):
    return {
        "url": url,
        "final_url": url,
        "status": 200,
        "content_type": "text/html",
        "fetched_at": datetime(2016, 6, 1),
        "body_compressed": body,
        "body_codec": "zstd",
        "body_bytes": len(body),
        "body_hash": hashlib.sha256(body).hexdigest(),
        "run_id": "r1",
    }


def topic_row(article_id, topic_id, score=0.9):
    return {
        "article_id": article_id,
        "topic_id": topic_id,
        "score": score,
        "evidence": {},
        "taxonomy_version": "v",
    }


def full_batch():
    """A batch touching every table the load keys: entries, pages, signed articles, refs, aliases, topics."""
    signed = [
        {
            **article(f"a{i}", f"https://a.example/{i}", f"h{i}", datetime(2016, 5, i), rank=i),
            "minhash": compute_minhash(f"story number {i} " * 40 + "with words").astype("<u4").tobytes(),
            "wire_credit": None,
        }
        for i in (1, 2, 3)
    ]
    return LoadBatch(
        "r1",
        entries=[entry_row(f"g{i}", f"https://a.example/{i}") for i in (1, 2, 3)],
        raw_pages=[page_row(f"https://a.example/{i}", b"body") for i in (1, 2, 3)],
        articles=signed,
        article_refs=[
            {
                "article_id": f"a{i}",
                "feed_url": "f",
                "guid": f"g{i}",
                "url": f"https://a.example/{i}",
                "seen_at": datetime(2016, 6, 1),
            }
            for i in (1, 2, 3)
        ],
        url_duplicates=[
            {
                "article_id": "alias-1",
                "duplicate_of": "a1",
                "similarity": 1.0,
                "method": "url",
                "url": "https://a.example/1?amp",
                "detected_at": datetime(2016, 6, 1),
                "run_id": "r1",
            }
        ],
        article_topics=[topic_row(f"a{i}", "syria") for i in (1, 2, 3)] + [topic_row("a1", "aleppo")],
    )


def all_rows(connection):
    return {t: connection.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLE_KEYS}


def assert_keys_unique(connection):
    for table, key in TABLE_KEYS.items():
        columns = ", ".join(key)
        total, distinct = connection.execute(
            f"SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT {columns} FROM {table})) FROM {table}"
        ).fetchone()
        assert total == distinct, table


def test_repeated_batch_adds_no_row_to_any_table(connection):
    first = load_batch(connection, full_batch())
    stored = all_rows(connection)
    assert all(stored[t] for t in TABLE_KEYS)
    assert first["entries"] == 3 and first["article_topics"] == 4 and first["url_duplicates"] == 1
    again = load_batch(connection, full_batch())
    assert all_rows(connection) == stored
    assert again["entries"] == again["articles"] == again["article_refs"] == 0
    assert again["url_duplicates"] == again["article_topics"] == again["raw_pages"] == again["signed"] == 0
    assert_keys_unique(connection)


def test_keys_repeated_within_a_batch_are_stored_once(connection):
    batch = full_batch()
    batch.entries.append(entry_row("g1", "https://a.example/1", title="later title"))
    batch.article_refs.append(dict(batch.article_refs[0]))
    batch.url_duplicates.append({**batch.url_duplicates[0], "duplicate_of": "a2"})
    batch.article_topics.append(topic_row("a1", "syria", score=0.1))
    batch.articles.append({**batch.articles[0], "batch_rank": 9})
    counts = load_batch(connection, batch)
    assert counts["entries"] == 3 and counts["article_refs"] == 3 and counts["url_duplicates"] == 1
    assert counts["articles"] == 3 and counts["signed"] == 3
    assert_keys_unique(connection)
    # The batch's first row of a key wins, as the stored row would.
    assert connection.execute("SELECT title FROM entries WHERE guid = 'g1'").fetchone() == ("T",)
    assert connection.execute(
        "SELECT duplicate_of FROM duplicates WHERE article_id = 'alias-1'"
    ).fetchone() == ("a1",)
    assert connection.execute(
        "SELECT score FROM article_topics WHERE article_id = 'a1' AND topic_id = 'syria'"
    ).fetchone() == (0.9,)


def test_stored_keys_are_kept_not_overwritten(connection):
    load_batch(connection, full_batch())
    later = LoadBatch(
        "r2",
        entries=[
            entry_row("g1", "https://a.example/1", title="changed"),
            entry_row("g4", "https://a.example/4"),
        ],
        article_topics=[topic_row("a1", "syria", score=0.1)],
    )
    counts = load_batch(connection, later)
    assert counts["entries"] == 1 and counts["article_topics"] == 0
    assert connection.execute("SELECT title FROM entries WHERE guid = 'g1'").fetchone() == ("T",)
    assert connection.execute(
        "SELECT score FROM article_topics WHERE topic_id = 'syria' AND article_id = 'a1'"
    ).fetchone() == (0.9,)


def test_refetched_page_replaces_the_stored_one(connection):
    load_batch(connection, LoadBatch("r1", raw_pages=[page_row("https://a.example/1", b"v1")]))
    refetch = LoadBatch(
        "r2", raw_pages=[page_row("https://a.example/1", b"v2"), page_row("https://a.example/1", b"v3")]
    )
    assert load_batch(connection, refetch)["raw_pages"] == 0
    assert stored_bodies(connection) == {"https://a.example/1": b"v2"}  # the batch's first


def test_repeated_page_keeps_its_row_and_writes_no_file(connection, tmp_path):
    load_batch(connection, LoadBatch("r1", raw_pages=[page_row("https://a.example/1", b"v1")]))
    before = connection.execute("SELECT * FROM raw_pages").fetchall()
    load_batch(connection, LoadBatch("r2", raw_pages=[page_row("https://a.example/1", b"v1")]))
    assert connection.execute("SELECT * FROM raw_pages").fetchall() == before
    assert len(list(pages_dir_for(tmp_path / "w.duckdb").rglob("*.parquet"))) == 1


def stored_bodies(connection):
    """The stored body of every raw page, wherever it is kept."""
    cursor = connection.execute("SELECT url, body_compressed, body_codec, body_file FROM raw_pages")
    rows = [dict(zip(("url", "body_compressed", "body_codec", "body_file"), row, strict=True)) for row in cursor.fetchall()]
    complete, missing = attach_page_bodies(lake_catalog_of(connection), rows)
    assert not missing
    return {row["url"]: row["body_compressed"] for row in complete}


def test_unknown_conflict_rule_is_refused(connection):
    with pytest.raises(ValueError, match="on_conflict"):
        insert_rows(connection, "entries", [entry_row("g", "l")], on_conflict="IGNORE")


def test_batch_of_stored_and_new_articles_keeps_each_key_once(connection):
    load_batch(connection, full_batch())
    later = full_batch()
    fourth = {
        **article("a4", "https://a.example/4", "h4", datetime(2016, 5, 4), rank=4),
        "minhash": compute_minhash("story number 4 " * 40 + "with words").astype("<u4").tobytes(),
        "wire_credit": None,
    }
    later.articles.append(fourth)
    later.article_refs.append({**later.article_refs[0], "article_id": "a4", "guid": "g4"})
    later.article_topics += [topic_row("a4", "syria"), topic_row("a1", "idlib")]
    counts = load_batch(connection, later)
    assert counts["articles"] == 1 and counts["signed"] == 1
    assert counts["article_refs"] == 1 and counts["article_topics"] == 2
    assert_keys_unique(connection)
    assert connection.execute("SELECT count(*) FROM article_signatures").fetchone() == (4,)


def test_article_whose_url_is_stored_under_another_id_is_not_inserted(connection):
    load_batch(connection, LoadBatch("r1", articles=[article("a1", "https://a.example/1", "h1", None)]))
    counts = load_batch(
        connection, LoadBatch("r2", articles=[article("other", "https://a.example/1", "h9", None)])
    )
    assert counts["articles"] == 0
    assert connection.execute("SELECT article_id FROM articles").fetchall() == [("a1",)]


def test_rows_keyed_by_article_belong_to_stored_articles(connection):
    load_batch(connection, full_batch())
    load_batch(connection, full_batch())
    for table in ("article_refs", "article_topics", "article_signatures"):
        orphans = connection.execute(
            f"SELECT count(*) FROM {table} AS t ANTI JOIN articles AS a ON a.article_id = t.article_id"
        ).fetchone()
        assert orphans == (0,), table
