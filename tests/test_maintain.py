"""`newsdesk maintain`: one upkeep pass on a real lake, run as a real Prefect flow, recorded in `runs`."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.cli import main
from flows.serve import build_runner_deployments
from warehouse.db import close_shared, read_session, write_session
from warehouse.location import catalog_path_for, lake_settings_for
from warehouse.migrate import apply_migrations

INSERTS = 30  # separate commits of ROWS rows each: one small Parquet file each
ROWS = 20
OLD_SNAPSHOTS = 16  # snapshots 0..15 are dated AGE_DAYS back
AGE_DAYS = 10


def write_sources(folder: Path, retention_days: float | None) -> Path:
    """A sources file with one feed and, when given, a `lake:` retention."""
    lake = f"lake:\n  snapshot_retention_days: {retention_days}\n" if retention_days is not None else ""
    path = folder / "sources.yaml"
    path.write_text(f"feeds:\n  - https://example.org/feed.xml\n{lake}", encoding="utf-8")
    return path


def date_back_snapshots(db: Path, last_id: int, days: float) -> None:
    """Make snapshots 0..last_id look `days` old, in the SQLite catalog itself."""
    moment = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    with contextlib.closing(sqlite3.connect(catalog_path_for(db))) as catalog, catalog:
        catalog.execute(
            "UPDATE ducklake_snapshot SET snapshot_time = ? WHERE snapshot_id <= ?", [moment, last_id]
        )


@pytest.fixture
def lake(tmp_path) -> Path:
    """A migrated lake with a `notes` table filled by INSERTS small commits; its oldest snapshots 10 days old."""
    db = tmp_path / "news.duckdb"
    with write_session(db) as connection:
        apply_migrations(connection)
        connection.execute("CREATE TABLE notes (id INTEGER, body VARCHAR)")
        for number in range(INSERTS):
            connection.execute(
                "INSERT INTO notes SELECT $first + range, 'note ' || range FROM range($rows)",
                {"first": number * ROWS, "rows": ROWS},
            )
    close_shared()
    date_back_snapshots(db, OLD_SNAPSHOTS - 1, AGE_DAYS)
    yield db
    close_shared()


def read_state(db: Path) -> dict:
    """The notes rows, notes' data files and the lake's snapshot ids, read in a session of its own."""
    with read_session(db, shared=False) as connection:
        return {
            "rows": connection.execute("SELECT * FROM notes ORDER BY id").fetchall(),
            "files": connection.execute(
                "SELECT file_count FROM ducklake_table_info('lake') WHERE table_name = 'notes'"
            ).fetchone()[0],
            "snapshots": [
                row[0]
                for row in connection.execute("SELECT snapshot_id FROM ducklake_snapshots('lake')").fetchall()
            ],
        }


def count_notes_as_of(db: Path, version: int) -> int:
    """How many notes the lake held as of a snapshot."""
    with read_session(db, shared=False) as connection:
        return connection.execute("SELECT count(*) FROM notes AT (VERSION => $v)", {"v": version}).fetchone()[
            0
        ]


def read_runs(db: Path) -> list[tuple]:
    """(run_id, flow, status, counts) of every recorded run."""
    with read_session(db, shared=False) as connection:
        return connection.execute(
            "SELECT run_id, flow, status, counts FROM runs ORDER BY started_at"
        ).fetchall()


def test_maintain_merges_files_keeps_rows_and_expires_only_old_snapshots(
    prefect_harness, lake, capsys
) -> None:
    before = read_state(lake)
    assert before["files"] == INSERTS and len(before["rows"]) == INSERTS * ROWS
    data = Path(lake_settings_for(lake).catalog_path).with_name("news.lake.files")
    stale, fresh = data / "left-by-a-dead-writer.parquet", data / "being-written.parquet"
    for path in (stale, fresh):
        path.write_bytes(b"PAR1")
    two_days_ago = time.time() - 2 * 86400
    os.utime(stale, (two_days_ago, two_days_ago))

    kept = max(before["snapshots"]) - 10  # ten inserts before the last: part of the notes
    notes_then = count_notes_as_of(lake, kept)
    assert 0 < notes_then < len(before["rows"])

    assert main(["maintain", "--db", str(lake), "--sources", str(write_sources(lake.parent, 7))]) == 0

    after = read_state(lake)
    assert after["rows"] == before["rows"]
    assert after["files"] == 1
    old = [snapshot for snapshot in before["snapshots"] if snapshot < OLD_SNAPSHOTS]
    assert old and not set(old) & set(after["snapshots"])
    assert set(before["snapshots"]) - set(old) <= set(after["snapshots"])  # the newer ones are all kept
    assert count_notes_as_of(lake, kept) == notes_then  # and still read as they did
    assert not stale.exists() and fresh.exists()  # only a file old enough to be nobody's commit under way
    printed = capsys.readouterr().out
    for line in ("files merged", "snapshots expired", "files deleted", "bytes stored", "last 7 days"):
        assert line in printed


def test_the_run_is_a_prefect_flow_run_recorded_in_runs(prefect_harness, lake) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    assert main(["maintain", "--db", str(lake), "--sources", str(write_sources(lake.parent, None))]) == 0

    [(run_id, flow, status, counts)] = [run for run in read_runs(lake) if run[1] == "maintain"]
    counts = json.loads(counts)
    assert (flow, status) == ("maintain", "completed")
    assert counts["snapshots_expired"] >= OLD_SNAPSHOTS and counts["retention_days"] == 7  # the default
    assert counts["live_files_after"] < counts["live_files_before"]
    assert counts["files_merged"] >= INSERTS and counts["seconds"] > 0
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["maintain"])))
    assert {str(run.id): run.state.type.value for run in runs}[run_id] == "COMPLETED"


def test_the_flag_beats_the_sources_file(prefect_harness, lake) -> None:
    sources = write_sources(lake.parent, 30)  # the old snapshots are 10 days old: kept for 30
    snapshots = read_state(lake)["snapshots"]

    assert main(["maintain", "--db", str(lake), "--sources", str(sources)]) == 0
    assert set(snapshots) <= set(read_state(lake)["snapshots"])

    assert main(["maintain", "--db", str(lake), "--sources", str(sources), "--retention-days", "7"]) == 0
    assert min(read_state(lake)["snapshots"]) >= OLD_SNAPSHOTS


@pytest.mark.parametrize(
    ("flag", "retention", "message"),
    [
        (["--retention-days", "-1"], None, "--retention-days"),
        (["--retention-days", "0"], None, "--retention-days"),
        ([], -1, "lake.snapshot_retention_days"),
    ],
)
def test_a_bad_retention_is_a_one_line_error(lake, capsys, flag, retention, message) -> None:
    sources = write_sources(lake.parent, retention)
    assert main(["maintain", "--db", str(lake), "--sources", str(sources), *flag]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("newsdesk: error:") and message in error and len(error.splitlines()) == 1


def test_no_lake_to_maintain_is_a_one_line_error(tmp_path, capsys) -> None:
    sources = write_sources(tmp_path, None)
    assert main(["maintain", "--db", str(tmp_path / "none.duckdb"), "--sources", str(sources)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"newsdesk: error: no warehouse at {tmp_path / 'none.lake.sqlite'} (run `newsdesk ingest` first)"
    )
    assert not (tmp_path / "none.lake.sqlite").exists()


def test_serve_builds_the_daily_maintain_deployment() -> None:
    deployments = {(d.flow_name, d.name): d for d in build_runner_deployments()}
    daily = deployments["maintain", "daily"]
    assert [schedule.schedule.cron for schedule in daily.schedules] == ["30 3 * * *"]
    assert Path(daily.parameters["db"]).is_absolute() and Path(daily.parameters["sources"]).is_absolute()
