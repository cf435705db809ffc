"""Which entries left pending by earlier runs a new run takes over, which wait for their host's Retry-After,
and which it gives up on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from transforms.records import FeedEntry
from transforms.urls import host_of

# Runs that may take an entry over and end before loading it; then it is given up, with a failure row.
MAX_RESUMES = 3
ENTRY_FIELDS = tuple(f.name for f in fields(FeedEntry))  # pending_entries has a column for each


@dataclass
class PendingPlan:
    """The entries a run fetches (polled now or taken over), the pending rows it stores, the entries held
    for their host's Retry-After and those it gives up on."""

    fetched: list[FeedEntry] = field(default_factory=list)
    resumed: list[FeedEntry] = field(default_factory=list)  # taken over from earlier runs (also in fetched)
    rows: list[dict[str, Any]] = field(default_factory=list)
    held: list[FeedEntry] = field(default_factory=list)
    given_up: list[dict[str, Any]] = field(default_factory=list)


def entry_from_row(row: dict[str, Any]) -> FeedEntry:
    """A feed entry from a pending row (its naive UTC timestamps made aware again)."""
    entry = FeedEntry(**{name: row[name] for name in ENTRY_FIELDS})
    entry.published_at, entry.updated_at = as_aware(entry.published_at), as_aware(entry.updated_at)
    return entry


def as_aware(moment: datetime | None) -> datetime | None:
    """A naive UTC timestamp as an aware one."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def pending_row(
    entry: FeedEntry, run_id: str, polled_at: datetime, resumed: int, due_at: datetime | None = None
) -> dict[str, Any]:
    """The pending row of an entry this run will fetch, or holds until `due_at`."""
    return {**asdict(entry), "run_id": run_id, "polled_at": polled_at, "resumed": resumed, "due_at": due_at}


def held_hosts(stored: list[dict[str, Any]], now: datetime) -> dict[str, datetime]:
    """Hosts that pending entries wait for (Retry-After not over at `now`), with when they are due."""
    hosts: dict[str, datetime] = {}
    for row in stored:
        due_at = row.get("due_at")
        if due_at is not None and due_at > now:
            host = host_of(row["link"] or "")
            hosts[host] = max(due_at, hosts.get(host, due_at))
    return hosts


def plan_pending(
    stored: list[dict[str, Any]], polled: list[FeedEntry], run_id: str, now: datetime
) -> PendingPlan:
    """Take over the stored pending rows a poll did not find again, up to MAX_RESUMES times each, and list
    every entry this run will fetch as pending. An entry found again keeps the newly polled version and the
    count of runs that took it over before. Entries linking to a host that asked to be left alone until
    later (a stored row's due_at) stay pending until then, neither fetched nor counted as taken over."""
    plan = PendingPlan()
    earlier = {(row["feed_url"], row["guid"]): row for row in stored}
    hosts = held_hosts(stored, now)
    for entry in polled:
        row = earlier.pop((entry.feed_url, entry.guid), None)
        polled_at = row["polled_at"] if row else now
        due_at = hosts.get(host_of(entry.link or ""))
        if due_at is not None:
            plan.held.append(entry)
            plan.rows.append(pending_row(entry, run_id, polled_at, row["resumed"] if row else 0, due_at))
            continue
        plan.fetched.append(entry)
        plan.rows.append(pending_row(entry, run_id, polled_at, row["resumed"] + 1 if row else 0))
    for row in earlier.values():
        due_at = hosts.get(host_of(row["link"] or ""))
        if due_at is not None:
            plan.held.append(entry_from_row(row))
            plan.rows.append({**row, "due_at": due_at})
        elif row["resumed"] >= MAX_RESUMES:
            plan.given_up.append(row)
        else:
            entry = entry_from_row(row)
            plan.resumed.append(entry)
            plan.rows.append(pending_row(entry, run_id, row["polled_at"], row["resumed"] + 1))
    plan.fetched.extend(plan.resumed)
    return plan
