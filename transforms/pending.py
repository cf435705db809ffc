"""Which entries left pending by earlier runs a new run takes over, and which it gives up on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from transforms.records import FeedEntry

# Runs that may take an entry over and end before loading it; then it is given up, with a failure row.
MAX_RESUMES = 3
ENTRY_FIELDS = tuple(f.name for f in fields(FeedEntry))  # pending_entries has a column for each


@dataclass
class PendingPlan:
    """The entries a run takes over, the pending rows it stores, and the entries it gives up on."""

    resumed: list[FeedEntry] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    given_up: list[dict[str, Any]] = field(default_factory=list)


def entry_from_row(row: dict[str, Any]) -> FeedEntry:
    """A feed entry from a pending row (its naive UTC timestamps made aware again)."""
    entry = FeedEntry(**{name: row[name] for name in ENTRY_FIELDS})
    entry.published_at, entry.updated_at = as_aware(entry.published_at), as_aware(entry.updated_at)
    return entry


def as_aware(moment: datetime | None) -> datetime | None:
    """A naive UTC timestamp as an aware one."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def pending_row(entry: FeedEntry, run_id: str, polled_at: datetime, resumed: int) -> dict[str, Any]:
    """The pending row of an entry this run will fetch."""
    return {**asdict(entry), "run_id": run_id, "polled_at": polled_at, "resumed": resumed}


def plan_pending(
    stored: list[dict[str, Any]], polled: list[FeedEntry], run_id: str, now: datetime
) -> PendingPlan:
    """Take over the stored pending rows a poll did not find again, up to MAX_RESUMES times each, and list
    every entry this run will fetch as pending. An entry found again keeps the newly polled version and the
    count of runs that took it over before."""
    plan = PendingPlan()
    earlier = {(row["feed_url"], row["guid"]): row for row in stored}
    for entry in polled:
        row = earlier.pop((entry.feed_url, entry.guid), None)
        resumed = row["resumed"] + 1 if row is not None else 0
        plan.rows.append(pending_row(entry, run_id, row["polled_at"] if row else now, resumed))
    for row in earlier.values():
        if row["resumed"] >= MAX_RESUMES:
            plan.given_up.append(row)
            continue
        entry = entry_from_row(row)
        plan.resumed.append(entry)
        plan.rows.append(pending_row(entry, run_id, row["polled_at"], row["resumed"] + 1))
    return plan
