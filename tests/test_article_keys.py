"""article_keys (migration 0017): the integer keys a batch's load looks its stored ids, URLs and text hashes up
by, on a real lake in tmp_path. Every writer of `articles` must add them: a missing key would let an article
in twice or leave an exact copy unmarked."""

from __future__ import annotations

import shutil
from datetime import datetime

from tests.test_load import article
from tests.test_rebuilt_articles import rebuilt
from warehouse.db import open_warehouse
from warehouse.load import LoadBatch, insert_rows, load_batch
from warehouse.migrate import MIGRATIONS_DIR, apply_migrations
from warehouse.rebuilt_articles import store_rebuilt_articles

MARKS = "SELECT article_id, duplicate_of FROM duplicates WHERE method = 'content_hash' ORDER BY ALL"
# Stored articles whose id, canonical URL or text hash has no key: what the load would miss.
UNKEYED = """
SELECT a.article_id FROM articles AS a
WHERE md5_number_upper(a.article_id) NOT IN (SELECT id_key FROM article_keys)
   OR md5_number_upper(a.canonical_url) NOT IN (SELECT url_key FROM article_keys)
   OR md5_number_upper(a.content_hash) NOT IN (SELECT text_key FROM article_keys)
ORDER BY ALL
"""


def load_articles(connection, run_id: str, *rows: dict) -> dict[str, int]:
    """Load the article rows as one batch."""
    return load_batch(connection, LoadBatch(run_id, articles=list(rows)))


def test_loaded_articles_have_their_keys(connection):
    load_articles(
        connection,
        "r1",
        article("a1", "https://a.example/1", "h1", datetime(2016, 5, 1)),
        article("a2", "https://a.example/2", "h2", datetime(2016, 5, 2), rank=1),
    )
    load_articles(connection, "r2", article("a1", "https://a.example/1", "h1", datetime(2016, 5, 1)))
    assert connection.execute("SELECT count(*) FROM article_keys").fetchone() == (2,)
    assert connection.execute(UNKEYED).fetchall() == []


def test_migration_17_keys_the_articles_stored_before_it(tmp_path):
    before = tmp_path / "migrations-16"
    before.mkdir()
    for path in MIGRATIONS_DIR.glob("00*.sql"):
        if int(path.name[:4]) < 17:
            shutil.copy(path, before / path.name)
    with open_warehouse(tmp_path / "w.duckdb") as connection:
        assert apply_migrations(connection, before) == 16
        insert_rows(
            connection, "articles", [article("a1", "https://a.example/1", "h1", datetime(2016, 5, 1))]
        )
        assert apply_migrations(connection) == 17
        assert connection.execute(UNKEYED).fetchall() == []
        row = article("a9", "https://a.example/1", "h9", datetime(2016, 5, 1))
        assert load_articles(connection, "r2", row)["articles"] == 0  # its canonical URL is stored


def test_a_key_without_its_value_stored_keeps_no_article_out(connection):
    # Another value's key that equals the new article's (a shared 64-bit key): the load reads the exact values.
    connection.execute(
        "INSERT INTO article_keys VALUES (md5_number_upper('a1'), md5_number_upper('https://a.example/1'), 0)"
    )
    counts = load_articles(connection, "r1", article("a1", "https://a.example/1", "h1", datetime(2016, 5, 1)))
    assert counts["articles"] == 1
    assert connection.execute("SELECT article_id FROM articles").fetchall() == [("a1",)]


def test_a_text_key_without_its_text_stored_marks_nothing(connection):
    connection.execute("INSERT INTO article_keys VALUES (0, 0, md5_number_upper('h1'))")
    load_articles(connection, "r1", article("a1", "https://a.example/1", "h1", datetime(2016, 5, 1)))
    assert connection.execute(MARKS).fetchall() == []


def test_a_copy_of_a_revised_text_is_marked(connection):
    load_articles(connection, "r1", article("a1", "https://a.example/1", "h1", datetime(2016, 5, 1)))
    revision = article("a1", "https://a.example/1", "h2", datetime(2016, 5, 1))
    load_batch(connection, LoadBatch("r2", revised_articles=[revision]))
    assert connection.execute(UNKEYED).fetchall() == []
    load_articles(connection, "r3", article("a2", "https://a.example/2", "h2", datetime(2016, 5, 3)))
    assert connection.execute(MARKS).fetchall() == [("a2", "a1")]


def test_a_copy_of_a_rebuilt_text_is_marked(connection):
    load_articles(connection, "r1", article("a1", "https://a.example/a1", "h1", datetime(2016, 5, 1)))
    store_rebuilt_articles(connection, [rebuilt("a1", "h2")], [], [], "v", "r2", datetime(2016, 6, 3))
    assert connection.execute(UNKEYED).fetchall() == []
    load_articles(connection, "r3", article("a2", "https://a.example/a2", "h2", datetime(2016, 5, 3)))
    assert connection.execute(MARKS).fetchall() == [("a2", "a1")]
