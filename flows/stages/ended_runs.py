"""Runs the warehouse still shows as running after Prefect saw them end: a run that lost the lake's catalog
(a PostgreSQL outage) or its process cannot close its own row, so the next run closes it."""

from __future__ import annotations

import uuid
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from warehouse.db import run_transaction, write_session
from warehouse.runs import close_ended_runs, list_open_runs


def read_final_states(run_ids: list[str]) -> dict[str, str]:
    """Prefect's final state (completed, failed, crashed, cancelled) of each run that has ended, by run id;
    runs still going, unknown to this Prefect server, or not Prefect runs are left out."""
    ended: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        for run_id in run_ids:
            try:
                flow_run = client.read_flow_run(uuid.UUID(run_id))
            except (ValueError, ObjectNotFound):
                continue
            if flow_run.state is not None and flow_run.state.is_final():
                ended[run_id] = flow_run.state.type.value.lower()
    return ended


def close_runs_prefect_ended(db_path: Path, run_id: str) -> list[str]:
    """Close, as `run_id`, the warehouse's open runs that Prefect says have ended; return their ids."""
    # The process's writing instance, which opened the run: opening a read-only one costs more than the read.
    with write_session(db_path) as connection:
        open_runs = list_open_runs(connection, run_id)
    ended = read_final_states(open_runs) if open_runs else {}
    if ended:
        with write_session(db_path) as connection:
            run_transaction(connection, lambda c: close_ended_runs(c, ended, run_id))
    return sorted(ended)
