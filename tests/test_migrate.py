"""Migrations bring an empty lake to the current schema, are idempotent, and refuse a newer warehouse; the
single-file migrations (1-10, kept for moving old warehouses in) still upgrade an old file."""

import contextlib
import zlib

import duckdb
import pytest

from transforms.page_bodies import decompress_body
from warehouse.db import open_warehouse
from warehouse.migrate import (
    SINGLE_FILE_MIGRATIONS_DIR,
    VIEWS_DIR,
    SchemaError,
    apply_migrations,
    list_migrations,
    read_schema_version,
)


def test_fresh_database_gets_every_table_and_view(tmp_path):
    connection = open_warehouse(tmp_path / "w.duckdb")
    version = apply_migrations(connection)
    assert version == list_migrations()[-1][0]
    tables = {
        r[0]
        for r in connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake'"
        ).fetchall()
    }
    assert {
        "feeds",
        "fetches",
        "entries",
        "raw_pages",
        "articles",
        "topics",
        "article_topics",
        "duplicates",
        "run_log",
        "failures",
        "schema_version",
    } <= tables
    views = {
        r[0] for r in connection.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    }
    assert {"canonical_articles", "topic_daily", "runs"} <= views


def test_applying_twice_changes_nothing(tmp_path):
    path = tmp_path / "w.duckdb"
    with open_warehouse(path) as connection:
        first = apply_migrations(connection)
        rows = connection.execute("SELECT count(*) FROM schema_version").fetchone()[0]
    with open_warehouse(path) as connection:
        assert apply_migrations(connection) == first
        assert connection.execute("SELECT count(*) FROM schema_version").fetchone()[0] == rows


def test_newer_database_is_refused(tmp_path):
    connection = open_warehouse(tmp_path / "w.duckdb")
    apply_migrations(connection)
    connection.execute("INSERT INTO schema_version VALUES (9999, 'from_the_future', now())")
    assert read_schema_version(connection) == 9999
    with pytest.raises(SchemaError, match="newer than this newsdesk"):
        apply_migrations(connection)


# Tables that migration 0004 rebuilt without PRIMARY KEY / UNIQUE constraints (the loads keep their keys).
UNKEYED_TABLES = (
    "entries",
    "raw_pages",
    "articles",
    "article_refs",
    "duplicates",
    "article_topics",
    "article_signatures",
    "article_versions",
)

VERSION_3_ROWS = """
INSERT INTO entries VALUES ('http://f.example/feed', 'g1', 'http://a.example/1', 'T', 'S',
    '2016-05-03 08:00', '2016-05-03 09:00', 'r1', '2016-05-04 10:00');
INSERT INTO entries (feed_url, guid, first_seen_at, run_id) VALUES ('http://f.example/feed', 'g2', now(), 'r1');
INSERT INTO raw_pages VALUES ('http://a.example/1', 'http://a.example/1?x', 200, 'text/html', '2016-05-03 09:00',
    '\\x78\\x9c'::BLOB, 2, 'h', 'r1');
INSERT INTO articles VALUES ('a1', 'http://a.example/1', 'http://a.example/1', 'http://a.example/1?x',
    'http://f.example/feed', 'a.example', 'Title', 'By', '2016-05-03 08:00', 'en', 'text one', 2, 'c1',
    ['World', 'Syria'], '2016-05-03 09:00', '2016-05-04 10:00', 'x', '1', 'r1');
INSERT INTO articles VALUES ('a2', 'http://b.example/2', 'http://b.example/2', 'http://b.example/2', NULL,
    'b.example', NULL, NULL, NULL, NULL, 'text one', 2, 'c1', NULL, '2016-05-03 10:00', '2016-05-03 10:00',
    'x', '1', 'r1');
INSERT INTO article_refs VALUES ('a1', 'http://f.example/feed', 'g1', 'http://a.example/1', '2016-05-03 09:00');
INSERT INTO duplicates VALUES ('a2', 'a1', 1.0, 'content_hash', 'http://b.example/2', '2016-05-03 10:00', 'r1');
INSERT INTO topics VALUES ('syria', 'Syria', 'country', [], 'v1');
INSERT INTO article_topics VALUES ('a1', 'syria', 0.9, '{"forms": {"Syria": 2}}', 'v1');
INSERT INTO article_tag_versions VALUES ('a1', 'v1', '2016-05-03 09:00');
INSERT INTO article_signatures VALUES ('a1', 'a1', '2016-05-03 08:00', '2016-05-03 08:00', 8, 'c1',
    'a.example', 'AP', '\\x01\\x02'::BLOB, 'm1', '2016-05-03 09:00');
INSERT INTO article_bands VALUES (42, 0, 'a1', '2016-05-03 08:00');
INSERT INTO article_versions VALUES ('a1', 1, 'c0', 'Old title', 'old text', 2, '2016-05-03 09:00',
    '2016-05-04 10:00', 'title changed; +1 words, -1 words', 'r2');
"""


def table_rows(connection, table: str) -> list[tuple]:
    return connection.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def column_definitions(connection) -> list[tuple]:
    return connection.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name <> 'schema_version' ORDER BY table_name, ordinal_position"
    ).fetchall()


def key_constraints(connection) -> dict[str, set[str]]:
    rows = connection.execute(
        "SELECT table_name, constraint_type FROM duckdb_constraints() "
        "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
    ).fetchall()
    found: dict[str, set[str]] = {}
    for table, kind in rows:
        found.setdefault(table, set()).add(kind)
    return found


def migrate_up_to(connection, tmp_path, monkeypatch, version: int) -> int:
    """Apply the migrations up to `version` only, as an older newsdesk did."""
    old_dir = tmp_path / f"migrations_upto_{version}"
    old_dir.mkdir(exist_ok=True)
    for number, _, path in list_migrations(SINGLE_FILE_MIGRATIONS_DIR):
        if number <= version:
            (old_dir / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    no_views = tmp_path / f"views_upto_{version}"
    no_views.mkdir(exist_ok=True)
    reached = apply_migrations(connection, old_dir)
    # Today's views, less those that read tables or columns of later migrations (twice: views read views).
    for path in [*sorted(VIEWS_DIR.glob("*.sql"))] * 2:
        with contextlib.suppress(duckdb.CatalogException, duckdb.BinderException):
            connection.execute(path.read_text(encoding="utf-8"))
    return reached


@pytest.fixture
def version_3_warehouse(tmp_path, monkeypatch):
    """A single-file warehouse migrated to version 3 only, holding a row or two in every table."""
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as connection:
        assert migrate_up_to(connection, tmp_path, monkeypatch, 3) == 3
        connection.execute(VERSION_3_ROWS)
    return path


def test_version_3_warehouse_keeps_every_row_when_unkeyed(version_3_warehouse, tmp_path, monkeypatch):
    with duckdb.connect(str(version_3_warehouse)) as connection:
        tables = [row[0] for row in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        tables.remove("schema_version")
        before = {t: table_rows(connection, t) for t in tables}
        columns_before = column_definitions(connection)
        assert set(UNKEYED_TABLES) <= key_constraints(connection).keys()
    assert all(before[t] for t in UNKEYED_TABLES)
    with duckdb.connect(str(version_3_warehouse)) as connection:
        assert migrate_up_to(connection, tmp_path, monkeypatch, 4) == 4
        assert {t: table_rows(connection, t) for t in tables} == before
        assert column_definitions(connection) == columns_before  # names, order, types, NOT NULL, defaults
        assert not set(UNKEYED_TABLES) & key_constraints(connection).keys()
        # The views still read the rebuilt tables: a2 is a duplicate of a1.
        assert connection.execute("SELECT article_id FROM canonical_articles").fetchall() == [("a1",)]


def test_lake_tables_have_no_keys_and_the_loads_keep_them(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb") as connection:
        apply_migrations(connection)
        assert key_constraints(connection) == {}


def test_unkeyed_tables_still_refuse_missing_keys(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb") as connection:
        apply_migrations(connection)
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL"):
            connection.execute(
                "INSERT INTO entries (feed_url, first_seen_at, run_id) VALUES ('f', now(), 'r')"
            )


def test_pages_stored_before_codecs_are_marked_zlib_and_still_read(
    version_3_warehouse, tmp_path, monkeypatch
):
    page = b"<html><body><p>An Aleppo page stored by an older newsdesk.</p></body></html>"
    with duckdb.connect(str(version_3_warehouse)) as connection:
        migrate_up_to(connection, tmp_path, monkeypatch, 4)
        connection.execute(
            "INSERT INTO raw_pages VALUES ('http://a.example/2', 'http://a.example/2', 200, 'text/html', "
            "'2016-05-04 09:00', ?, ?, 'h2', 'r1')",
            [zlib.compress(page, 1), len(page)],
        )
        other_rows = {t: table_rows(connection, t) for t in ("articles", "entries", "article_topics")}
    with duckdb.connect(str(version_3_warehouse)) as connection:
        latest = list_migrations(SINGLE_FILE_MIGRATIONS_DIR)[-1][0]
        assert apply_migrations(connection, SINGLE_FILE_MIGRATIONS_DIR) == latest >= 5
        rows = connection.execute(
            "SELECT url, body_codec, body_compressed FROM raw_pages ORDER BY url"
        ).fetchall()
        assert [(url, codec) for url, codec, _ in rows] == [
            ("http://a.example/1", "zlib"),
            ("http://a.example/2", "zlib"),
        ]
        assert rows[0][2] == b"\x78\x9c"  # the stored bytes are left as they were
        assert decompress_body(rows[1][2], rows[1][1]) == page
        # later migrations add columns (NULL for stored rows): the columns there were keep their values
        kept = {
            t: [row[: len(rows[0])] for row in table_rows(connection, t)] if rows else []
            for t, rows in other_rows.items()
        }
        assert kept == other_rows
        # a new row must say how its body is compressed
        with pytest.raises(duckdb.ConstraintException, match="body_codec"):
            connection.execute(
                "INSERT INTO raw_pages (url, final_url, status, fetched_at, body_compressed, body_bytes, "
                "body_hash, run_id) VALUES ('u', 'u', 200, now(), 'x'::BLOB, 1, 'h', 'r')"
            )


def test_the_lake_gets_its_table_options_once_also_when_already_migrated(tmp_path):
    from warehouse.migrate import TABLE_OPTIONS, missing_table_options

    with open_warehouse(tmp_path / "w.duckdb") as connection:
        apply_migrations(connection)
        assert missing_table_options(connection) == []
        options = dict(
            ((entry.removeprefix("main."), name), value)
            for name, value, entry in connection.execute(
                "SELECT option_name, value, scope_entry FROM ducklake_options('lake') WHERE scope = 'TABLE'"
            ).fetchall()
        )
        for table, wanted in TABLE_OPTIONS.items():
            for name, value in wanted.items():
                assert options[(table, name)] == str(value)
        snapshot = connection.execute("SELECT id FROM ducklake_current_snapshot('lake')").fetchone()[0]
        apply_migrations(connection)  # nothing left to set: no new commit
        assert connection.execute("SELECT id FROM ducklake_current_snapshot('lake')").fetchone()[0] == snapshot


def test_a_fresh_lake_gets_its_views_in_one_commit(tmp_path):
    from warehouse.lake import current_snapshot
    from warehouse.migrate import create_views

    with open_warehouse(tmp_path / "w.duckdb") as connection:
        apply_migrations(connection)
        connection.execute("DROP VIEW topic_daily_by_tag")
        connection.execute("DROP VIEW topic_daily")
        before = current_snapshot(connection)
        create_views(connection)
        assert current_snapshot(connection) == before + 1
        views = connection.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    names = {name for (name,) in views}
    assert {path.stem for path in VIEWS_DIR.glob("*.sql")} <= names


def test_views_come_after_the_views_they_read_and_a_circle_is_refused(tmp_path):
    from warehouse.migrate import order_views

    (tmp_path / "a_top.sql").write_text("CREATE VIEW a_top AS SELECT * FROM b_middle, c_base_more;")
    (tmp_path / "b_middle.sql").write_text("CREATE VIEW b_middle AS SELECT * FROM c_base;")
    (tmp_path / "c_base.sql").write_text("CREATE VIEW c_base AS SELECT 1 AS x;")
    (tmp_path / "c_base_more.sql").write_text("CREATE VIEW c_base_more AS SELECT 2 AS y;")
    paths = sorted(tmp_path.glob("*.sql"))
    ordered = [path.stem for path in order_views(paths)]
    assert ordered.index("c_base") < ordered.index("b_middle") < ordered.index("a_top")
    assert ordered.index("c_base_more") < ordered.index("a_top")
    with duckdb.connect() as connection:  # in this order each view binds
        for path in order_views(paths):
            connection.execute(path.read_text())
    (tmp_path / "c_base.sql").write_text("CREATE VIEW c_base AS SELECT * FROM a_top;")
    with pytest.raises(SchemaError, match="circle"):
        order_views(paths)
