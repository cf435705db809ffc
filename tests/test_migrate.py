"""Migrations bring an empty file to the current schema, are idempotent, and refuse a newer database."""

import duckdb
import pytest

from warehouse.migrate import SchemaError, apply_migrations, list_migrations, read_schema_version


def test_fresh_database_gets_every_table_and_view(tmp_path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    version = apply_migrations(connection)
    assert version == list_migrations()[-1][0]
    tables = {r[0] for r in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {
        "feeds",
        "fetches",
        "entries",
        "raw_pages",
        "articles",
        "topics",
        "article_topics",
        "duplicates",
        "runs",
        "failures",
        "schema_version",
    } <= tables
    views = {
        r[0] for r in connection.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    }
    assert {"canonical_articles", "topic_daily"} <= views


def test_applying_twice_changes_nothing(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as connection:
        first = apply_migrations(connection)
        rows = connection.execute("SELECT count(*) FROM schema_version").fetchone()[0]
    with duckdb.connect(str(path)) as connection:
        assert apply_migrations(connection) == first
        assert connection.execute("SELECT count(*) FROM schema_version").fetchone()[0] == rows


def test_newer_database_is_refused(tmp_path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    apply_migrations(connection)
    connection.execute("INSERT INTO schema_version VALUES (9999, 'from_the_future', now())")
    assert read_schema_version(connection) == 9999
    with pytest.raises(SchemaError, match="newer than this newsdesk"):
        apply_migrations(connection)
