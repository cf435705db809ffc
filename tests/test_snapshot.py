"""The read snapshot: a consistent copy of the live file, indexed for search, swapped in atomically."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from flows.cli import main
from flows.stages.runlog import close_run
from tests.seeded import make_small_warehouse
from warehouse.fts import has_search_index
from warehouse.runs import begin_run, finish_run
from warehouse.snapshot import (
    PublishedSnapshot,
    SnapshotDecision,
    choose_read_path,
    count_changed_rows,
    decide_snapshot,
    plan_snapshot,
    publish_snapshot,
    read_snapshot_info,
    snapshot_path_for,
)


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


# --- when a run publishes: decide_snapshot (pure) and plan_snapshot / close_run on real files ---

NOW = datetime(2024, 6, 1, 12, 0)
FRESH = PublishedSnapshot(exists=True, published_at=NOW - timedelta(minutes=5), schema_version=4)


def test_run_that_loaded_rows_publishes():
    assert decide_snapshot(3, FRESH, 4, 0, NOW) == SnapshotDecision(True, "changed")


def test_missing_snapshot_is_published():
    assert decide_snapshot(0, PublishedSnapshot(exists=False), 4, 0, NOW) == SnapshotDecision(True, "missing")


def test_unreadable_snapshot_is_published():
    broken = PublishedSnapshot(exists=True, error="not a DuckDB file")
    assert decide_snapshot(0, broken, 4, 0, NOW) == SnapshotDecision(True, "unreadable")


def test_snapshot_from_an_older_schema_is_published():
    assert decide_snapshot(0, FRESH, 5, 0, NOW) == SnapshotDecision(True, "schema")


def test_snapshot_older_than_the_maximum_age_is_published():
    assert decide_snapshot(0, FRESH, 4, 0, NOW, max_age_s=300) == SnapshotDecision(True, "stale")
    assert decide_snapshot(0, FRESH, 4, 0, NOW, max_age_s=301).publish is False
    assert decide_snapshot(0, FRESH, 4, 0, NOW, max_age_s=0).reason == "stale"  # 0: after every run


def test_snapshot_behind_other_finished_runs_is_published():
    assert decide_snapshot(0, FRESH, 4, 2, NOW) == SnapshotDecision(True, "runs_since")


def test_fresh_snapshot_is_kept_when_nothing_changed():
    assert decide_snapshot(0, FRESH, 4, 0, NOW) == SnapshotDecision(False, "unchanged")


def test_routine_poll_ledger_is_not_a_change():
    assert count_changed_rows({"loaded_fetches": 500, "feeds_unchanged": 500, "seconds": 1.5}) == 0
    assert count_changed_rows({"loaded_fetches": 5, "loaded_entries": 2, "loaded_article_topics": 4}) == 6


def plan_for(live, run_id: str, changed_rows: int = 0, max_age_s: float = 3600) -> SnapshotDecision:
    """Open run `run_id` in the live file and decide its snapshot, as the ingest flow's last session does."""
    with duckdb.connect(str(live)) as connection:
        begin_run(connection, run_id, "ingest", {})
        return plan_snapshot(connection, live, run_id, changed_rows, max_age_s)


def edit_snapshot(live, statement: str) -> None:
    """Change the published snapshot's own provenance row."""
    with duckdb.connect(str(snapshot_path_for(live))) as connection:
        connection.execute(statement)


def test_plan_keeps_the_fresh_snapshot_of_an_unchanged_warehouse(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    assert plan_for(live, "r1") == SnapshotDecision(False, "unchanged")


def test_plan_publishes_when_the_run_loaded_rows(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    assert plan_for(live, "r1", changed_rows=1) == SnapshotDecision(True, "changed")


def test_plan_publishes_a_missing_snapshot(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb", snapshot=False)
    assert plan_for(live, "r1") == SnapshotDecision(True, "missing")


def test_plan_publishes_over_a_snapshot_it_cannot_read(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    snapshot_path_for(live).write_bytes(b"not a database")
    decision = plan_for(live, "r1")
    assert decision == SnapshotDecision(True, "unreadable")


def test_plan_publishes_a_snapshot_of_an_older_schema(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    edit_snapshot(live, "UPDATE snapshot_info SET schema_version = schema_version - 1")
    assert plan_for(live, "r1") == SnapshotDecision(True, "schema")


def test_plan_publishes_a_snapshot_past_the_maximum_age(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    edit_snapshot(live, "UPDATE snapshot_info SET published_at = published_at - INTERVAL 2 HOUR")
    assert plan_for(live, "r1", max_age_s=3600) == SnapshotDecision(True, "stale")
    assert plan_for(live, "r2", max_age_s=3 * 3600) == SnapshotDecision(False, "unchanged")


def test_plan_publishes_after_another_run_changed_the_warehouse(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    with duckdb.connect(str(live)) as connection:  # a backfill that finished after the snapshot was made
        begin_run(connection, "backfill-1", "backfill", {})
        finish_run(connection, "backfill-1", "completed", {"loaded_articles": 2}, {})
    assert plan_for(live, "r1") == SnapshotDecision(True, "runs_since")
    publish_snapshot(live)  # the snapshot now holds the backfill run
    assert plan_for(live, "r2") == SnapshotDecision(False, "unchanged")


def test_runs_that_kept_the_snapshot_do_not_call_for_one(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    with duckdb.connect(str(live)) as connection:
        begin_run(connection, "quiet", "ingest", {})
        finish_run(connection, "quiet", "completed", SnapshotDecision(False, "unchanged").as_counts(), {})
    assert plan_for(live, "r1") == SnapshotDecision(False, "unchanged")


def test_close_run_records_the_decision_and_counts_failures_as_changes(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    with duckdb.connect(str(live)) as connection:
        begin_run(connection, "r1", "ingest", {})
    summary = close_run(live, "r1", "ingest", "completed", {"loaded_fetches": 9}, snapshot_max_age_s=3600)
    assert summary["counts"]["snapshot_published"] == 0
    assert summary["counts"]["snapshot_reason"] == "unchanged"
    with duckdb.connect(str(live)) as connection:
        begin_run(connection, "r2", "ingest", {})
        connection.execute(
            "INSERT INTO failures (run_id, stage, url, reason, failed_at) "
            "VALUES ('r2', 'poll', 'http://127.0.0.1/feed.xml', 'http_404', now())"
        )
    summary = close_run(live, "r2", "ingest", "completed", {"loaded_fetches": 9}, snapshot_max_age_s=3600)
    assert summary["failures"] == {"poll:http_404": 1}
    assert (summary["counts"]["snapshot_published"], summary["counts"]["snapshot_reason"]) == (1, "changed")
    with duckdb.connect(str(live), read_only=True) as connection:
        stored = connection.execute(
            "SELECT run_id, json_extract_string(counts, '$.snapshot_reason') FROM runs ORDER BY run_id"
        ).fetchall()
    assert stored == [("r1", "unchanged"), ("r2", "changed")]


def test_failed_run_does_not_publish(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    with duckdb.connect(str(live)) as connection:
        begin_run(connection, "r1", "ingest", {})
    summary = close_run(live, "r1", "ingest", "failed", {"loaded_articles": 3}, snapshot_max_age_s=3600)
    assert (summary["counts"]["snapshot_published"], summary["counts"]["snapshot_reason"]) == (0, "run_failed")
