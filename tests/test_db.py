"""Warehouse connections: the memory cap on pipeline writers."""

from __future__ import annotations

import pytest

from flows.cli import main
from warehouse.db import read_load_memory_limit, write_session
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
        assert connection.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "244.1 MiB"
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
    assert error.startswith("newsdesk: error: NEWSDESK_DUCKDB_MEMORY_LIMIT must be a size") and error.count("\n") == 1
