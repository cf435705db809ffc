"""Warehouse connections: the memory cap on pipeline writers."""

from __future__ import annotations

import duckdb
import pytest

from flows.cli import main
from warehouse.db import read_index_memory_limit, read_load_memory_limit, write_session
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
    assert read_index_memory_limit() == "128MB"
    monkeypatch.setenv("NEWSDESK_DUCKDB_MEMORY_LIMIT", "2GB")
    assert read_load_memory_limit() == read_index_memory_limit() == "2GB"


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


def count_row_groups(path, table: str) -> int:
    """How many row groups `table` has in the file at `path`."""
    with duckdb.connect(str(path), read_only=True) as connection:
        query = f"SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('{table}')"
        return connection.execute(query).fetchone()[0]


def append_rows(connection, start: int) -> None:
    """Append 3,000 rows with 5 kB of text each (a batch of articles, roughly)."""
    connection.execute("CREATE TABLE IF NOT EXISTS t (i INTEGER, text VARCHAR)")
    connection.execute("INSERT INTO t SELECT i, repeat('x', 5000) FROM range(?, ?) AS r(i)", [start, start + 3000])


def test_write_sessions_keep_each_load_in_its_own_row_groups(tmp_path):
    plain, ours = tmp_path / "plain.duckdb", tmp_path / "ours.duckdb"
    for batch in range(4):
        with duckdb.connect(str(plain)) as connection:
            append_rows(connection, batch * 3000)
        with write_session(ours) as connection:
            append_rows(connection, batch * 3000)
    # DuckDB's own checkpoints merged the growing tail again and again (rewriting every stored row of text);
    # newsdesk's sessions leave the loads as they were written.
    assert count_row_groups(plain, "t") < 4
    assert count_row_groups(ours, "t") == 4
    with duckdb.connect(str(ours), read_only=True) as connection:
        assert connection.execute("SELECT count(*), sum(i) FROM t").fetchone() == (12000, sum(range(12000)))


def test_a_session_may_use_fewer_duckdb_threads(tmp_path):
    with write_session(tmp_path / "t.duckdb", threads=1) as connection:
        assert connection.execute("SELECT current_setting('threads')").fetchone()[0] == 1
    with duckdb.connect() as plain:
        default = plain.execute("SELECT current_setting('threads')").fetchone()[0]
    with write_session(tmp_path / "t.duckdb") as connection:
        assert connection.execute("SELECT current_setting('threads')").fetchone()[0] == default
