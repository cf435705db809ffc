"""Warehouse sessions: the memory cap on pipeline writers, threads, and what a `--db` path opens."""

from __future__ import annotations

import duckdb
import pytest

from flows.cli import main
from warehouse.db import open_warehouse, read_load_memory_limit, write_session
from warehouse.migrate import apply_migrations


def test_writers_cap_duckdb_memory_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSDESK_DUCKDB_MEMORY_LIMIT", raising=False)
    with write_session(tmp_path / "news.duckdb") as connection:
        assert connection.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "488.2 MiB"


def test_a_session_can_ask_for_its_own_cap(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSDESK_DUCKDB_MEMORY_LIMIT", raising=False)
    with write_session(tmp_path / "w.duckdb", memory_limit="256MB") as connection:
        assert connection.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "244.1 MiB"
    with write_session(tmp_path / "w.duckdb") as connection:  # the next session is back to the default
        assert connection.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "488.2 MiB"


def test_the_cap_can_be_raised_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSDESK_DUCKDB_MEMORY_LIMIT", "2GB")
    with write_session(tmp_path / "news.duckdb") as connection:
        assert connection.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "1.8 GiB"


def test_batch_loads_run_under_a_lower_cap_unless_the_user_set_one(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSDESK_DUCKDB_MEMORY_LIMIT", raising=False)
    with write_session(tmp_path / "w.duckdb", memory_limit=read_load_memory_limit()) as connection:
        assert connection.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "61.0 MiB"
    monkeypatch.setenv("NEWSDESK_DUCKDB_MEMORY_LIMIT", "2GB")
    assert read_load_memory_limit() == "2GB"


@pytest.mark.parametrize("value", ["lots", "512", "1GB'; DROP TABLE articles; --"])
def test_a_bad_cap_is_a_one_line_error(tmp_path, monkeypatch, value):
    monkeypatch.setenv("NEWSDESK_DUCKDB_MEMORY_LIMIT", value)
    with (
        pytest.raises(ValueError, match="NEWSDESK_DUCKDB_MEMORY_LIMIT must be a size") as raised,
        write_session(tmp_path / "news.duckdb"),
    ):
        pass
    assert "\n" not in str(raised.value)


def test_the_cli_reports_a_bad_cap_in_one_line(tmp_path, monkeypatch, capsys):
    db = tmp_path / "news.duckdb"
    with write_session(db) as connection:
        apply_migrations(connection)
    monkeypatch.setenv("NEWSDESK_DUCKDB_MEMORY_LIMIT", "lots")
    assert main(["feeds", "--db", str(db), "--activate", "http://127.0.0.1:9/feed.xml"]) == 2
    error = capsys.readouterr().err
    assert (
        error.startswith("newsdesk: error: NEWSDESK_DUCKDB_MEMORY_LIMIT must be a size")
        and error.count("\n") == 1
    )


def test_a_session_may_use_fewer_duckdb_threads(tmp_path):
    with write_session(tmp_path / "t.duckdb", threads=1) as connection:
        assert connection.execute("SELECT current_setting('threads')").fetchone()[0] == 1
    with duckdb.connect() as plain:
        default = plain.execute("SELECT current_setting('threads')").fetchone()[0]
    with write_session(tmp_path / "t.duckdb") as connection:
        assert connection.execute("SELECT current_setting('threads')").fetchone()[0] == default


def test_a_duckdb_path_names_the_lake_beside_it_and_a_sqlite_path_is_the_catalog(tmp_path):
    with write_session(tmp_path / "news.duckdb") as connection:
        connection.execute("CREATE TABLE t AS SELECT 42 AS answer")
    assert (tmp_path / "news.lake.sqlite").is_file() and (tmp_path / "news.lake.files").is_dir()
    assert not (tmp_path / "news.duckdb").exists()
    with open_warehouse(tmp_path / "news.lake.sqlite", read_only=True) as connection:
        assert connection.execute("SELECT answer FROM t").fetchall() == [(42,)]


def test_reading_a_missing_warehouse_is_a_one_line_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no warehouse at .*news.lake.sqlite"):
        open_warehouse(tmp_path / "news.duckdb", read_only=True)


def test_an_old_single_file_warehouse_points_to_migrate(tmp_path):
    old = tmp_path / "news.duckdb"
    duckdb.connect(str(old)).close()
    with pytest.raises(RuntimeError, match="newsdesk migrate --from") as raised:
        open_warehouse(old)
    assert "\n" not in str(raised.value)


def test_a_postgres_uri_survives_the_path_that_typer_makes_of_it(monkeypatch):
    from pathlib import Path

    from warehouse.location import is_postgres, lake_settings_for, warehouse_exists

    monkeypatch.setenv("NEWSDESK_LAKE_DATA_PATH", "/srv/lake.files")
    uri = "postgresql://newsdesk:@/lake?host=/tmp/pg"
    for value in (uri, Path(uri)):  # a Path folds `//` into `/`
        assert is_postgres(value) and warehouse_exists(value)
        assert lake_settings_for(value).catalog_path == uri
