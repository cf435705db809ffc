"""The end-of-run extraction check: flag sources whose pages suddenly come out empty or too short."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from transforms.drift import flag_drifting_sources
from warehouse.clock import now_utc
from warehouse.db import run_transaction, write_session
from warehouse.extraction_health import record_alarms, select_drift_counts


def check_extraction_drift(db_path: Path, run_id: str) -> list[dict[str, Any]]:
    """Compare this run's empty-or-short share per source with its trailing baseline; store and return the
    alarms (transforms/drift.py)."""
    now = now_utc()
    with write_session(db_path) as connection:
        alarms = flag_drifting_sources(select_drift_counts(connection, run_id, now))
        if alarms:
            run_transaction(connection, lambda c: record_alarms(c, alarms, run_id, now))
    return [asdict(alarm) for alarm in alarms]
