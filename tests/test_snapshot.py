"""The read snapshot: a consistent copy of the live file, indexed for search, swapped in atomically."""

from __future__ import annotations

import duckdb
import pytest

from flows.cli import main
from tests.seeded import make_small_warehouse
from warehouse.fts import has_search_index
from warehouse.snapshot import choose_read_path, publish_snapshot, read_snapshot_info, snapshot_path_for


def count_rows(path, table: str) -> int:
    """Row count of a table in a database file, read-only."""
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_snapshot_path_sits_beside_the_live_file(tmp_path):
    assert snapshot_path_for(tmp_path / "news.duckdb") == tmp_path / "news.read.duckdb"


def test_snapshot_holds_the_live_rows_and_a_search_index(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb", snapshot=False)
    target = publish_snapshot(live)
    assert target == tmp_path / "news.read.duckdb"
    for table in ("articles", "article_topics", "duplicates", "topics", "canonical_articles"):
        assert count_rows(target, table) == count_rows(live, table)
    with duckdb.connect(str(target), read_only=True) as connection:
        assert has_search_index(connection)
        info = read_snapshot_info(connection)
        assert info["indexed_articles"] == count_rows(live, "canonical_articles")
        assert info["live_path"] == str(live.resolve())
    with duckdb.connect(str(live), read_only=True) as connection:
        assert not has_search_index(connection)  # the writer never pays for the index
        assert read_snapshot_info(connection) is None


def test_publishing_leaves_no_staging_files(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb", snapshot=False)
    publish_snapshot(live)
    publish_snapshot(live)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["news.duckdb", "news.read.duckdb"]


def test_open_reader_keeps_its_snapshot_while_a_new_one_is_published(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    reader = duckdb.connect(str(snapshot_path_for(live)), read_only=True)
    try:
        before = reader.execute("SELECT count(*) FROM articles").fetchone()[0]
        with duckdb.connect(str(live)) as writer:
            writer.execute("DELETE FROM article_topics WHERE article_id = 'a4'")
            writer.execute("DELETE FROM articles WHERE article_id = 'a4'")
        publish_snapshot(live)
        assert reader.execute("SELECT count(*) FROM articles").fetchone()[0] == before
    finally:
        reader.close()
    assert count_rows(snapshot_path_for(live), "articles") == before - 1


def test_missing_live_file_is_a_clear_error_and_publishes_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no warehouse"):
        publish_snapshot(tmp_path / "absent.duckdb")
    assert list(tmp_path.iterdir()) == []


def test_readers_choose_the_snapshot_unless_live_is_asked(tmp_path):
    live = tmp_path / "news.duckdb"
    assert choose_read_path(live, live=False) == live  # no snapshot yet
    make_small_warehouse(live)
    assert choose_read_path(live, live=False) == snapshot_path_for(live)
    assert choose_read_path(live, live=True) == live


def test_sql_command_reads_the_snapshot_and_live_reads_the_writer_file(tmp_path, capsys):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    with duckdb.connect(str(live)) as writer:
        writer.execute("UPDATE articles SET title = 'changed after the snapshot' WHERE article_id = 'a3'")
    query = "SELECT title FROM articles WHERE article_id = 'a3'"
    assert main(["sql", query, "--db", str(live), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["title", "Truce talks in Geneva"]
    assert main(["sql", query, "--db", str(live), "--format", "csv", "--live"]) == 0
    assert capsys.readouterr().out.splitlines() == ["title", "changed after the snapshot"]


def test_snapshot_command_publishes(tmp_path, capsys):
    live = make_small_warehouse(tmp_path / "news.duckdb", snapshot=False)
    assert main(["snapshot", "--db", str(live)]) == 0
    assert "published" in capsys.readouterr().out
    assert count_rows(snapshot_path_for(live), "articles") == count_rows(live, "articles")
