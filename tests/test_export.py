"""Hive-partitioned Parquet export: round trip, incremental rewrites, readers other than DuckDB."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pyarrow.dataset as ds
import pytest

from flows.cli import main
from tests.seeded import copy_seeded_warehouse, make_small_warehouse
from warehouse.db import open_warehouse
from warehouse.export import EXPORT_TABLES, PART_FILE, STATE_FILE, ExportError, export_parquet, partition_dir


@pytest.fixture(scope="module")
def seeded(prefect_harness, tmp_path_factory):
    """A copy of the seeded warehouse."""
    return copy_seeded_warehouse(tmp_path_factory, "export")


def parquet_count(out_dir, table: str) -> int:
    """Rows of one exported table, read back by DuckDB with Hive partitioning."""
    glob = str(out_dir / table / "*" / "*.parquet")
    return duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true)").fetchone()[0]


def test_export_round_trips_row_counts(seeded, tmp_path):
    out = tmp_path / "parquet"
    with open_warehouse(seeded, read_only=True) as connection:
        results = export_parquet(connection, out)
        for table in EXPORT_TABLES:
            expected = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            assert expected > 0, table
            assert parquet_count(out, table) == expected == results[table].rows_total
        days = connection.execute(
            "SELECT count(DISTINCT CAST(coalesce(published_at, first_seen_at) AS DATE)) FROM articles"
        ).fetchone()[0]
    assert len(list((out / "articles").glob("published_date=*"))) == days


def test_export_keeps_values_and_partition_dates(seeded, tmp_path):
    out = tmp_path / "parquet"
    with open_warehouse(seeded, read_only=True) as connection:
        export_parquet(connection, out)
        glob = str(out / "articles" / "*" / "*.parquet")
        mismatches = connection.execute(
            f"""SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true) AS p
                JOIN articles AS a USING (article_id)
                WHERE p.title IS DISTINCT FROM a.title OR p.text IS DISTINCT FROM a.text
                   OR p.published_at IS DISTINCT FROM a.published_at
                   OR p.published_date <> CAST(coalesce(a.published_at, a.first_seen_at) AS DATE)"""
        ).fetchone()[0]
    assert mismatches == 0


def test_pyarrow_and_polars_read_the_export(seeded, tmp_path):
    out = tmp_path / "parquet"
    with open_warehouse(seeded, read_only=True) as connection:
        export_parquet(connection, out)
        expected = connection.execute("SELECT count(*) FROM article_topics").fetchone()[0]
    dataset = ds.dataset(out / "article_topics", format="parquet", partitioning="hive")
    assert dataset.count_rows() == expected
    assert "published_date" in dataset.schema.names
    polars = pytest.importorskip("polars")
    frame = polars.read_parquet(out / "article_topics" / "**" / "*.parquet", hive_partitioning=True)
    assert frame.height == expected
    assert frame.schema["published_date"] == polars.Date


def test_second_export_writes_nothing(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    out = tmp_path / "parquet"
    with open_warehouse(live, read_only=True) as connection:
        first = export_parquet(connection, out)
        second = export_parquet(connection, out)
    assert [len(first[t].written_days) for t in EXPORT_TABLES] == [3, 2, 1]
    assert all(second[t].written_days == [] for t in EXPORT_TABLES)
    assert second["articles"].unchanged_days == 3


def test_only_changed_days_are_rewritten(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    out = tmp_path / "parquet"
    with open_warehouse(live) as connection:
        export_parquet(connection, out)
        untouched = partition_dir(out, "articles", date(2016, 5, 1)) / PART_FILE
        mtime = untouched.stat().st_mtime_ns
        connection.execute("UPDATE articles SET title = 'Truce talks resume' WHERE article_id = 'a3'")
        result = export_parquet(connection, out)
    assert result["articles"].written_days == [date(2016, 5, 2)]
    assert result["articles"].rows_written == 1
    assert untouched.stat().st_mtime_ns == mtime
    glob = str(out / "articles" / "*" / "*.parquet")
    title = duckdb.sql(
        f"SELECT title FROM read_parquet('{glob}', hive_partitioning = true) WHERE article_id = 'a3'"
    ).fetchone()[0]
    assert title == "Truce talks resume"


def test_vanished_days_are_removed(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    out = tmp_path / "parquet"
    with open_warehouse(live) as connection:
        export_parquet(connection, out)
        connection.execute("DELETE FROM articles WHERE article_id = 'a4'")
        result = export_parquet(connection, out)
    assert result["articles"].removed_days == [date(2016, 5, 3)]
    assert not partition_dir(out, "articles", date(2016, 5, 3)).exists()
    assert parquet_count(out, "articles") == 3
    state = json.loads((out / STATE_FILE).read_text())
    assert "2016-05-03" not in state["tables"]["articles"]


def test_deleted_partition_file_is_written_again(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    out = tmp_path / "parquet"
    with open_warehouse(live, read_only=True) as connection:
        export_parquet(connection, out)
        (partition_dir(out, "articles", date(2016, 5, 2)) / PART_FILE).unlink()
        result = export_parquet(connection, out)
    assert result["articles"].written_days == [date(2016, 5, 2)]
    assert parquet_count(out, "articles") == 4


def test_corrupt_state_file_is_a_clear_error(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    out = tmp_path / "parquet"
    out.mkdir()
    (out / STATE_FILE).write_text("{not json")
    with open_warehouse(live, read_only=True) as connection, pytest.raises(ExportError, match="delete it"):
        export_parquet(connection, out)


def test_export_command_reads_every_committed_write(tmp_path, capsys):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    with open_warehouse(live) as writer:
        writer.execute("DELETE FROM articles WHERE article_id = 'a4'")  # committed: the export sees it at once
    out = tmp_path / "parquet"
    assert main(["export", "--to", str(out), "--db", str(live)]) == 0
    assert "articles: 2 days written (3 rows)" in capsys.readouterr().out
    assert parquet_count(out, "articles") == 3
