"""Runs left open in the warehouse after Prefect saw them end (their process or the catalog went away before
they could close their row) are closed by the next run, with Prefect's final state."""

import uuid
from pathlib import Path

from prefect import flow
from prefect.runtime import flow_run

from flows.stages.runlog import open_run
from warehouse.db import read_session, run_transaction, shared_connections, write_session
from warehouse.migrate import apply_migrations
from warehouse.runs import begin_run


@flow
def failing_flow() -> None:
    raise RuntimeError("the catalog went away")


@flow
def finishing_flow() -> int:
    return 1


@flow
def next_run_flow(db: str) -> None:
    """A run that is itself open in the warehouse and in Prefect while the next run opens."""
    own_id = str(flow_run.get_id())
    record_open_runs(Path(db), [own_id])
    open_run(Path(db), "the-next-run", "ingest", {"db": db})


def record_open_runs(db: Path, run_ids: list[str]) -> None:
    with write_session(db) as connection:
        apply_migrations(connection)
        for run_id in run_ids:
            run_transaction(connection, lambda c, r=run_id: begin_run(c, r, "ingest", {}))


def read_runs(db: Path) -> dict[str, tuple[str, str | None]]:
    with read_session(db, shared=False) as connection:
        rows = connection.execute("SELECT run_id, status, counts ->> 'closed_by_run' FROM runs").fetchall()
    return {run_id: (status, closed_by) for run_id, status, closed_by in rows}


def test_the_next_run_closes_runs_prefect_saw_end_and_leaves_the_others(prefect_harness, tmp_path) -> None:
    db = tmp_path / "news.lake.sqlite"
    failed_id = str(failing_flow(return_state=True).state_details.flow_run_id)
    completed_id = str(finishing_flow(return_state=True).state_details.flow_run_id)
    unknown_id = str(uuid.uuid4())  # a run this Prefect server never saw
    record_open_runs(db, [failed_id, completed_id, unknown_id, "not-a-prefect-run"])

    next_run_flow(str(db))

    runs = read_runs(db)
    assert runs[failed_id] == ("failed", "the-next-run")
    assert runs[completed_id] == ("completed", "the-next-run")
    assert runs[unknown_id] == ("running", None)
    assert runs["not-a-prefect-run"] == ("running", None)
    still_going = [run_id for run_id, (status, _) in runs.items() if run_id not in {
        failed_id, completed_id, unknown_id, "not-a-prefect-run", "the-next-run"}]
    assert len(still_going) == 1 and runs[still_going[0]] == ("running", None)  # next_run_flow itself
    assert runs["the-next-run"] == ("running", None)


def test_a_second_opening_closes_nothing_more(prefect_harness, tmp_path) -> None:
    db = tmp_path / "news.lake.sqlite"
    failed_id = str(failing_flow(return_state=True).state_details.flow_run_id)
    record_open_runs(db, [failed_id])
    open_run(db, "run-a", "ingest", {})
    open_run(db, "run-b", "ingest", {})
    with read_session(db, shared=False) as connection:
        rows = connection.execute(
            "SELECT status, counts ->> 'closed_by_run' FROM run_log WHERE run_id = ? ORDER BY logged_at",
            [failed_id],
        ).fetchall()
    assert rows == [("running", None), ("failed", "run-a")]


def test_opening_a_run_opens_no_read_only_instance(prefect_harness, tmp_path) -> None:
    db = tmp_path / "news.lake.sqlite"
    failed_id = str(failing_flow(return_state=True).state_details.flow_run_id)
    record_open_runs(db, [failed_id])
    open_run(db, "run-a", "ingest", {})
    assert read_runs(db)[failed_id] == ("failed", "run-a")
    assert (str(db), True) not in shared_connections()  # the writing instance read the open runs
