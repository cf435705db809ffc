"""The poll stage: fetch due feeds conditionally, parse what changed, record state, return unseen entries
(and those of earlier runs that ended before loading them: warehouse/pending.py).

Every decision (conditional or not, when to poll next, backoff, 410) is made by the pure functions of
transforms/polling.py; this module only does the I/O around them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.http.fetch import FetchRequest, FetchResult, FetchSettings, fetch_batch
from flows.settings.config import Config
from flows.stages.feed_state import row_from_state, state_from_row
from transforms.feeds import parse_feed
from transforms.http_dates import parse_retry_after_s
from transforms.outlets import outlet_of
from transforms.pending import PendingPlan, plan_pending
from transforms.polling import (
    FeedState,
    PollOutcome,
    PollRequest,
    PollSettings,
    body_hash_of,
    build_feed_request,
    parse_max_age,
    plan_next_poll,
    select_due,
)
from transforms.records import FeedEntry, ParsedFeed
from transforms.shards import Shard
from warehouse.clock import utc_naive
from warehouse.db import Connection, run_transaction, write_session
from warehouse.feeds import register_feeds, select_unseen_entries, update_feed_states
from warehouse.load import insert_rows, now_utc
from warehouse.pending import read_pending_entries, replace_pending_entries
from warehouse.revisions import select_revised_entries


@dataclass
class PollResult:
    """What polling produced: entries the warehouse has not seen, and counts for the run summary."""

    entries: list[FeedEntry] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FeedPoll:
    """One feed's poll: its state before, the request decided, the fetch result and what was parsed."""

    state: FeedState
    request: PollRequest
    result: FetchResult
    parsed: ParsedFeed | None = None
    unchanged: bool = False  # 304, or a 200 whose body hash equals the last one


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


def with_configured_interval(state: FeedState, poll_every_s: int | None) -> FeedState:
    """A never-polled feed starts from its configured `poll_every_s`, when the sources file sets one."""
    if poll_every_s and state.last_polled_at is None:
        return replace(state, poll_every_s=int(poll_every_s))
    return state


def read_feed_poll(state: FeedState, request: PollRequest, result: FetchResult) -> FeedPoll:
    """Parse a fetched feed unless it is unchanged (304, or the same body hash as last time)."""
    poll = FeedPoll(state, request, result)
    if result.status == 304:
        poll.unchanged = True
    elif result.ok:
        if state.body_hash is not None and body_hash_of(result.body or b"") == state.body_hash:
            poll.unchanged = True
        else:
            poll.parsed = parse_feed(result.body or b"", state.feed_url, result.headers)
    return poll


def poll_outcome(poll: FeedPoll, items_new: int, now: datetime) -> PollOutcome:
    """What the poll observed, in the terms of transforms.polling."""
    result, parsed = poll.result, poll.parsed
    headers = result.headers
    error_class, error = result.error_class, result.error
    if parsed is not None and parsed.error:
        error_class, error = "not_a_feed", parsed.error
    return PollOutcome(
        status=result.status,
        conditional=poll.request.conditional,
        error_class=error_class,
        error=error,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        body_hash=body_hash_of(result.body) if result.body is not None else None,
        items_total=len(parsed.entries) if parsed is not None else 0,
        items_new=items_new,
        ttl_minutes=parsed.ttl_minutes if parsed is not None else None,
        max_age_s=parse_max_age(headers.get("cache-control")),
        retry_after_s=retry_after_of(result, now),
    )


def retry_after_of(result: FetchResult, now: datetime) -> float | None:
    """Seconds the feed's host asked us to wait: its Retry-After, or the hold that left the poll unsent."""
    retry_after_s = parse_retry_after_s(result.headers.get("retry-after"), now)
    if retry_after_s is None and result.retry_at is not None:
        retry_after_s = max(0.0, (result.retry_at - now).total_seconds())
    return retry_after_s


def record_poll(run_id: str, poll: FeedPoll, counts: dict[str, int], failures: list[dict[str, Any]]) -> None:
    """Count the poll and add its failure rows (fetch failure, unparseable feed, or bozo reason)."""
    feed_url, result, parsed = poll.state.feed_url, poll.result, poll.parsed
    if poll.unchanged:
        counts["feeds_unchanged"] += 1
    elif parsed is not None and parsed.error:
        counts["feeds_failed"] += 1
        failures.append(failure_row(run_id, "parse", "unparseable_feed", parsed.error, feed_url, feed_url))
    elif parsed is not None:
        counts["feeds_ok"] += 1
        if parsed.bozo:
            failures.append(failure_row(run_id, "parse", "bozo_feed", parsed.bozo_reason, feed_url, feed_url))
    else:
        counts["feeds_failed"] += 1
        failures.append(
            failure_row(run_id, "poll", result.error_class or "fetch_error", result.error, feed_url, feed_url)
        )


def give_up_row(run_id: str, row: dict[str, Any]) -> dict[str, Any]:
    """The failure row of a pending entry that MAX_RESUMES runs took over and ended before loading."""
    first = f"{row['polled_at']:%Y-%m-%d %H:%M}"
    detail = f"{row['resumed'] + 1} runs ended before loading it (first polled {first} UTC)"
    return failure_row(
        run_id, "poll", "entry_abandoned", detail, row["link"], row["feed_url"], {"guid": row["guid"]}
    )


def configured_feed_rows(config: Config, shard: Shard | None = None) -> list[dict[str, Any]]:
    """The sources file's feeds (the shard's, given one) as rows to register in the warehouse."""
    return [
        {
            "feed_url": f.url,
            "name": f.name,
            "language": f.language,
            "source": outlet_of(f.url),
            "tags": f.tags,
        }
        for f in config.feeds
        if shard is None or shard.holds(f.url)
    ]


def read_feed_states(config: Config, db_path: Path, shard: Shard | None = None) -> list[FeedState]:
    """Register the configured feeds (each shard's run its own) and return the polling state of every feed to
    poll (the shard's, given one)."""
    intervals = {f.url: f.poll_every_s for f in config.feeds}
    feeds = configured_feed_rows(config, shard)
    with write_session(db_path) as connection:
        rows = run_transaction(connection, lambda c: register_feeds(c, feeds))
    if shard is not None:  # feeds added on the command line are not in the file: their shard is decided here
        rows = [row for row in rows if row["origin"] == "sources" or shard.holds(row["feed_url"])]
    # The file's poll_every_s applies to the feeds it owns, not to those added or edited on the command line.
    return [
        with_configured_interval(
            state_from_row(row), intervals.get(row["feed_url"]) if row["origin"] == "sources" else None
        )
        for row in rows
    ]


def fetch_due_feeds(
    states: list[FeedState], now: datetime, force: bool, policy: PollSettings, settings: FetchSettings
) -> list[FeedPoll]:
    """Fetch the due feeds (conditionally when the policy allows) and parse those that changed."""
    due = select_due(states, now, force)
    requests = [build_feed_request(state, now, policy) for state in due]
    results = fetch_batch(
        [FetchRequest(r.url, "feed", etag=r.etag, last_modified=r.last_modified) for r in requests], settings
    )
    return [read_feed_poll(s, r, res) for s, r, res in zip(due, requests, results, strict=True)]


def count_polls(run_id: str, polls: list[FeedPoll], failures: list[dict[str, Any]]) -> dict[str, int]:
    """Count the polls by outcome and the entries they listed, adding their failure rows."""
    counts = {
        "feeds_due": len(polls),
        "feeds_ok": 0,
        "feeds_unchanged": 0,
        "feeds_failed": 0,
        "entries_seen": 0,
    }
    for poll in polls:
        record_poll(run_id, poll, counts, failures)
    counts["entries_seen"] = sum(len(p.parsed.entries) for p in polls if p.parsed is not None)
    return counts


def unique_entries(polls: list[FeedPoll]) -> dict[tuple[str, str], FeedEntry]:
    """The parsed entries by (feed_url, guid), the first of each kept."""
    unique: dict[tuple[str, str], FeedEntry] = {}
    for poll in polls:
        for entry in poll.parsed.entries if poll.parsed is not None else []:
            unique.setdefault((entry.feed_url, entry.guid), entry)
    return unique


def next_feed_states(
    polls: list[FeedPoll], unseen: set[tuple[str, str]], now: datetime, policy: PollSettings
) -> list[dict[str, Any]]:
    """Each polled feed's next state row, planned from what its poll observed."""
    new_per_feed = Counter(feed_url for feed_url, _guid in unseen)
    return [
        row_from_state(
            plan_next_poll(
                poll.state, poll_outcome(poll, new_per_feed[poll.state.feed_url], now), now, policy
            ),
            poll.parsed.title if poll.parsed is not None else None,
        )
        for poll in polls
    ]


def store_polls(
    db_path: Path,
    run_id: str,
    polls: list[FeedPoll],
    now: datetime,
    policy: PollSettings,
    failures: list[dict[str, Any]],
    feed_urls: list[str],
) -> tuple[PendingPlan, dict[str, int]]:
    """Record the polls, their failures and the feeds' next states in one transaction; return the entries
    to load (with those earlier runs left pending of the run's feeds, `feed_urls`) and their counts."""
    unique = unique_entries(polls)
    poll_failures = list(failures)

    def store(connection: Connection) -> tuple[PendingPlan, dict[str, int]]:
        unseen = select_unseen_entries(connection, list(unique))
        # Seen items whose feed now dates a later update: their page may have changed (warehouse/revisions).
        revised = select_revised_entries(connection, [e for key, e in unique.items() if key not in unseen])
        polled = [entry for key, entry in unique.items() if key in unseen or key in revised]
        # Entries of runs that ended before loading them; the batches' loads delete this run's own.
        pending = plan_pending(read_pending_entries(connection, feed_urls), polled, run_id, utc_naive(now))
        failures[:] = poll_failures + [give_up_row(run_id, row) for row in pending.given_up]
        insert_rows(connection, "fetches", [fetch_row(run_id, poll.result) for poll in polls])
        insert_rows(connection, "failures", failures)
        update_feed_states(connection, next_feed_states(polls, unseen, now, policy))
        replace_pending_entries(connection, pending.rows, feed_urls)
        return pending, {"entries_new": len(polled) - len(revised), "entries_revised": len(revised)}

    with write_session(db_path) as connection:
        return run_transaction(connection, store)


def poll_feeds(
    config: Config,
    db_path: Path,
    run_id: str,
    settings: FetchSettings,
    force: bool = False,
    policy: PollSettings | None = None,
    shard: Shard | None = None,
) -> PollResult:
    """Poll the configured feeds that are due (every active one with `force`; only the shard's, given one)
    and return unseen entries, with those that earlier runs of these feeds polled and ended before loading."""
    policy = policy or config.polling
    outcome = PollResult()
    states = read_feed_states(config, db_path, shard)
    now = datetime.now(UTC)
    polls = fetch_due_feeds(states, now, force, policy, settings)
    counts = count_polls(run_id, polls, outcome.failures)
    feed_urls = [state.feed_url for state in states]
    pending, entry_counts = store_polls(db_path, run_id, polls, now, policy, outcome.failures, feed_urls)
    outcome.entries = pending.fetched
    counts.update(entry_counts)
    counts["entries_resumed"] = len(pending.resumed)
    counts["entries_deferred"] = len(pending.held)  # their host asked to be left alone until later
    counts["feeds_inactive"] = sum(1 for state in states if not state.active)
    outcome.counts = counts
    return outcome
