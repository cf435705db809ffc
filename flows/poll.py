"""The poll stage: fetch due feeds conditionally, parse them, record state, and return unseen entries."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flows.config import Config
from flows.fetch import FetchRequest, FetchResult, FetchSettings, fetch_batch
from transforms.feeds import parse_feed
from transforms.outlets import outlet_of
from transforms.records import FeedEntry
from warehouse.db import transaction, write_session
from warehouse.feeds import register_feeds, select_unseen_entries, update_feed_states
from warehouse.load import insert_rows, now_utc


@dataclass
class PollResult:
    """What polling produced: entries the warehouse has not seen, and counts for the run summary."""

    entries: list[FeedEntry] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)


def fetch_row(run_id: str, result: FetchResult) -> dict[str, Any]:
    """Turn a fetch result into a `fetches` ledger row."""
    return {
        "run_id": run_id,
        "url": result.url,
        "kind": result.kind,
        "status": result.status,
        "bytes": len(result.body) if result.body is not None else None,
        "elapsed_ms": result.elapsed_ms,
        "final_url": result.final_url,
        "error_class": result.error_class,
        "error": result.error,
        "fetched_at": result.fetched_at,
    }


def failure_row(
    run_id: str,
    stage: str,
    reason: str,
    detail: str | None,
    url: str | None,
    feed_url: str | None,
    retry: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a `failures` ledger row."""
    return {
        "run_id": run_id,
        "stage": stage,
        "url": url,
        "feed_url": feed_url,
        "reason": reason,
        "detail": detail,
        "retry": retry or {},
        "failed_at": now_utc(),
        "resolved_at": None,
    }


def is_due(state: dict[str, Any], now: datetime) -> bool:
    """Tell whether an active feed should be polled now."""
    return bool(state["active"]) and (state["next_poll_at"] is None or state["next_poll_at"] <= now)


def decide_feed_state(
    state: dict[str, Any], result: FetchResult, now: datetime, title: str | None
) -> dict[str, Any]:
    """Update a feed's polling state after one poll."""
    state = dict(state)
    state["last_polled_at"] = now
    state["last_status"] = result.status
    if result.status == 304 or result.ok:
        state["last_success_at"] = now
        state["consecutive_failures"] = 0.0
        state["last_error"] = None
        if result.ok:
            state["etag"] = result.headers.get("etag")
            state["last_modified"] = result.headers.get("last-modified")
            state["body_hash"] = hashlib.sha256(result.body or b"").hexdigest()
            state["title"] = title
    else:
        state["consecutive_failures"] = float(state["consecutive_failures"] or 0) + 1.0
        state["last_error"] = f"{result.error_class}: {result.error}"
    state["next_poll_at"] = now + timedelta(seconds=int(state["poll_every_s"] or 900))
    return state


def poll_feeds(
    config: Config, db_path: Path, run_id: str, settings: FetchSettings, force: bool = False
) -> PollResult:
    """Poll the configured feeds that are due and return the entries not yet in the warehouse."""
    outcome = PollResult()
    configured = [
        {"feed_url": f.url, "name": f.name, "language": f.language, "source": outlet_of(f.url)}
        for f in config.feeds
    ]
    with write_session(db_path) as connection:
        states = register_feeds(connection, configured)
    now = now_utc()
    due = [s for s in states if force and s["active"] or is_due(s, now)]
    results = fetch_batch(
        [
            FetchRequest(url=s["feed_url"], kind="feed", etag=s["etag"], last_modified=s["last_modified"])
            for s in due
        ],
        settings,
    )
    fetches, new_states, polled = [], [], []
    counts = {
        "feeds_due": len(due),
        "feeds_ok": 0,
        "feeds_unchanged": 0,
        "feeds_failed": 0,
        "entries_seen": 0,
    }
    for state, result in zip(due, results, strict=True):
        fetches.append(fetch_row(run_id, result))
        title = None
        if result.status == 304:
            counts["feeds_unchanged"] += 1
        elif result.ok:
            parsed = parse_feed(result.body or b"", state["feed_url"], result.headers)
            title = parsed.title
            if parsed.error:
                outcome.failures.append(
                    failure_row(
                        run_id,
                        "parse",
                        "unparseable_feed",
                        parsed.error,
                        state["feed_url"],
                        state["feed_url"],
                    )
                )
                counts["feeds_failed"] += 1
            else:
                counts["feeds_ok"] += 1
                if parsed.bozo:
                    outcome.failures.append(
                        failure_row(
                            run_id,
                            "parse",
                            "bozo_feed",
                            parsed.bozo_reason,
                            state["feed_url"],
                            state["feed_url"],
                        )
                    )
            polled.extend(parsed.entries)
        else:
            counts["feeds_failed"] += 1
            outcome.failures.append(
                failure_row(
                    run_id,
                    "poll",
                    result.error_class or "fetch_error",
                    result.error,
                    state["feed_url"],
                    state["feed_url"],
                )
            )
        new_states.append(decide_feed_state(state, result, now, title))
    counts["entries_seen"] = len(polled)
    unique: dict[tuple[str, str], FeedEntry] = {}
    for entry in polled:
        unique.setdefault((entry.feed_url, entry.guid), entry)
    with write_session(db_path) as connection, transaction(connection):
        insert_rows(connection, "fetches", fetches)
        insert_rows(connection, "failures", outcome.failures)
        update_feed_states(connection, new_states)
        unseen = select_unseen_entries(connection, list(unique))
    outcome.entries = [entry for key, entry in unique.items() if key in unseen]
    counts["entries_new"] = len(outcome.entries)
    outcome.counts = counts
    return outcome
