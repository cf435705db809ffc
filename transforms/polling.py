"""Polling decisions, pure: conditional or not, when to poll next, how failures back off, when a feed dies.

`FeedState` mirrors the warehouse `feeds` columns; `PollOutcome` is what one poll observed. The I/O side
(flows/stages/poll.py) builds the outcome from a fetch result and writes the returned state back.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, NonNegativeFloat, NonNegativeInt, model_validator

# Weight of one failure by class: likely-transient problems count less, likely-permanent ones more.
FAILURE_WEIGHTS = {
    "timeout": 0.5,
    "http_429": 0.5,
    "http_503": 0.5,
    "deferred": 0.5,  # not asked: the host is under another request's long Retry-After
    "connect_error": 1.0,
    "http_404": 2.0,
    "dns_error": 2.0,
    "not_a_feed": 2.0,
    "bad_scheme": 3.0,
    "private_address": 3.0,
}
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


class PollSettings(BaseModel):
    """Knobs of the polling policy: the `polling:` section of a sources file (see docs/fetching.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_poll_every_s: NonNegativeInt = 900  # 15 min for a feed without its own poll_every_s
    min_poll_every_s: NonNegativeInt = 300  # 5 min: never poll a feed more often, whatever it says
    max_poll_every_s: NonNegativeInt = 86_400  # 24 h: never poll an active feed less often
    unconditional_every: NonNegativeInt = 12  # every Nth poll ignores validators to catch wrong 304s
    speed_up_factor: NonNegativeFloat = 0.5  # all items new: we may be missing some, poll sooner
    slow_down_factor: NonNegativeFloat = 1.25  # nothing new: drift towards the maximum
    max_backoff_s: NonNegativeInt = 6 * 3600  # cap of the exponential failure backoff
    dormant_after: NonNegativeFloat = 10.0  # weighted failures after which only the revival probe polls
    revival_probe_s: NonNegativeInt = 86_400  # a dormant feed is still tried this often
    jitter_fraction: NonNegativeFloat = 0.1  # +-10% on success, doubled on failures, to spread load

    @model_validator(mode="after")
    def check_interval_bounds(self) -> PollSettings:
        """The shortest interval may not exceed the longest."""
        if self.min_poll_every_s > self.max_poll_every_s:
            raise ValueError("min_poll_every_s must not exceed max_poll_every_s")
        return self


@dataclass(frozen=True)
class FeedState:
    """Polling state of one feed, as stored in the warehouse `feeds` table."""

    feed_url: str
    active: bool = True
    inactive_reason: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    cache_trusted: bool = True
    poll_every_s: int = 900
    next_poll_at: datetime | None = None
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    consecutive_failures: float = 0.0
    polls_since_unconditional: int = 0


@dataclass(frozen=True)
class PollRequest:
    """The feed GET to make: validators are set only for a conditional request."""

    url: str
    etag: str | None
    last_modified: str | None
    conditional: bool


@dataclass(frozen=True)
class PollOutcome:
    """What one poll observed."""

    status: int | None
    conditional: bool  # validators were sent
    error_class: str | None = None  # fetch failure, or "not_a_feed" for a 200 that does not parse
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    items_total: int = 0
    items_new: int = 0
    ttl_minutes: int | None = None  # RSS <ttl> / sy:updatePeriod
    max_age_s: int | None = None  # Cache-Control max-age
    retry_after_s: float | None = None

    @property
    def succeeded(self) -> bool:
        """True for a 304, or a 2xx that parsed as a feed."""
        return (
            self.error_class is None
            and self.status is not None
            and (self.status == 304 or 200 <= self.status < 300)
        )


def body_hash_of(body: bytes) -> str:
    """Content hash used to spot unchanged feeds."""
    return hashlib.sha256(body).hexdigest()


def parse_max_age(cache_control: str | None) -> int | None:
    """max-age seconds from a Cache-Control header, or None (also for no-cache / no-store)."""
    if not cache_control:
        return None
    lowered = cache_control.lower()
    if "no-store" in lowered or "no-cache" in lowered:
        return None
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else None


def is_due(state: FeedState, now: datetime) -> bool:
    """True when an active feed's next poll time has come (or it was never polled)."""
    return state.active and (state.next_poll_at is None or state.next_poll_at <= now)


def select_due(states: list[FeedState], now: datetime, force: bool = False) -> list[FeedState]:
    """Feeds to poll now: the due ones, or every active one when forced."""
    return [s for s in states if s.active and (force or is_due(s, now))]


def build_feed_request(state: FeedState, now: datetime, settings: PollSettings) -> PollRequest:
    """Decide conditional vs unconditional: unconditional when untrusted, unvalidated, or a periodic check."""
    has_validators = bool(state.etag or state.last_modified)
    periodic_check = state.polls_since_unconditional + 1 >= settings.unconditional_every
    if not has_validators or not state.cache_trusted or periodic_check:
        return PollRequest(state.feed_url, None, None, conditional=False)
    return PollRequest(state.feed_url, state.etag, state.last_modified, conditional=True)


def jitter_unit(feed_url: str, salt: str) -> float:
    """Deterministic number in [0, 1) from the feed and a salt (keeps the jitter pure)."""
    digest = hashlib.blake2b(f"{feed_url}\x1f{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def jitter_factor(feed_url: str, salt: str, fraction: float) -> float:
    """Deterministic factor in [1 - fraction, 1 + fraction] from the feed and a salt."""
    return 1.0 + fraction * (2 * jitter_unit(feed_url, salt) - 1)


def clamp(value: float, low: float, high: float) -> float:
    """`value` limited to [low, high]."""
    return max(low, min(high, value))


def adapt_interval(poll_every_s: float, outcome: PollOutcome, settings: PollSettings) -> int:
    """New base interval from how many items of the poll were new."""
    if outcome.items_total > 0 and outcome.items_new >= outcome.items_total:
        poll_every_s *= settings.speed_up_factor
    elif outcome.items_new > 0:
        # Some new items: ease towards polling about once per new item's worth of time.
        poll_every_s *= max(settings.speed_up_factor, 1.0 - outcome.items_new / max(outcome.items_total, 1))
    else:
        poll_every_s *= settings.slow_down_factor
    return int(clamp(poll_every_s, settings.min_poll_every_s, settings.max_poll_every_s))


def server_hint_s(outcome: PollOutcome, settings: PollSettings) -> int | None:
    """Longest of the server's own hints (ttl, max-age), clamped to the allowed range."""
    hints = [h for h in (outcome.ttl_minutes * 60 if outcome.ttl_minutes else None, outcome.max_age_s) if h]
    if not hints:
        return None
    return int(clamp(max(hints), settings.min_poll_every_s, settings.max_poll_every_s))


def cache_still_trusted(state: FeedState, outcome: PollOutcome) -> bool:
    """False once an unconditional 200 shows different content under the validators the server kept."""
    if not state.cache_trusted:
        return False
    if outcome.conditional or outcome.status != 200 or state.body_hash is None or outcome.body_hash is None:
        return True
    if outcome.body_hash == state.body_hash:
        return True
    same_etag = state.etag is not None and outcome.etag == state.etag
    same_date = (
        state.etag is None
        and state.last_modified is not None
        and (outcome.last_modified == state.last_modified)
    )
    # The content changed but the validator did not: a conditional GET would have been answered 304.
    return not (same_etag or same_date)


def plan_next_poll(
    state: FeedState, outcome: PollOutcome, now: datetime, settings: PollSettings
) -> FeedState:
    """The feed's state after one poll: validators, health, interval and next_poll_at."""
    polls_since = 0 if not outcome.conditional else state.polls_since_unconditional + 1
    if outcome.succeeded:
        return _after_success(state, outcome, now, settings, polls_since)
    return _after_failure(state, outcome, now, settings, polls_since)


def _after_success(
    state: FeedState, outcome: PollOutcome, now: datetime, settings: PollSettings, polls_since: int
) -> FeedState:
    interval = state.poll_every_s or settings.default_poll_every_s
    if state.last_success_at is not None:  # on a first poll every item is "new": nothing to learn yet
        interval = adapt_interval(interval, outcome, settings)
    hint = server_hint_s(outcome, settings)
    wait_s = max(interval, hint or 0)
    wait_s *= jitter_factor(state.feed_url, now.isoformat(), settings.jitter_fraction)
    changed = replace(
        state,
        poll_every_s=interval,
        next_poll_at=now
        + timedelta(seconds=clamp(wait_s, settings.min_poll_every_s, settings.max_poll_every_s)),
        last_polled_at=now,
        last_success_at=now,
        last_status=outcome.status,
        last_error=None,
        consecutive_failures=0.0,
        polls_since_unconditional=polls_since,
        cache_trusted=cache_still_trusted(state, outcome),
    )
    if outcome.status != 304:
        # A 200 replaces the validators, also with None when the server stopped sending them.
        changed = replace(
            changed,
            etag=outcome.etag,
            last_modified=outcome.last_modified,
            body_hash=outcome.body_hash or state.body_hash,
        )
    return changed


def failure_weight(error_class: str | None, status: int | None) -> float:
    """How much one failure counts towards backoff and dormancy."""
    return FAILURE_WEIGHTS.get(error_class or "", 1.0)


def backoff_s(failures: float, poll_every_s: int, settings: PollSettings) -> float:
    """Capped exponential backoff after `failures` weighted consecutive failures."""
    if failures >= settings.dormant_after:
        return float(settings.revival_probe_s)
    exponent = max(0.0, failures - 1.0)
    return min(float(settings.max_backoff_s), poll_every_s * 2.0**exponent)


def _after_failure(
    state: FeedState, outcome: PollOutcome, now: datetime, settings: PollSettings, polls_since: int
) -> FeedState:
    failures = state.consecutive_failures + failure_weight(outcome.error_class, outcome.status)
    base = state.poll_every_s or settings.default_poll_every_s
    salt = f"{now.isoformat()}:{failures}"
    spread = 2 * settings.jitter_fraction  # failures jitter twice as much as successes
    wait_s = backoff_s(failures, base, settings) * jitter_factor(state.feed_url, salt, spread)
    wait_s = max(wait_s, float(settings.min_poll_every_s) / 2)
    if outcome.retry_after_s is not None:
        # Retry-After is a floor: its jitter only adds (up to `spread`), never undercuts it.
        floor_s = min(outcome.retry_after_s, float(settings.max_poll_every_s))
        wait_s = max(wait_s, floor_s * (1 + spread * jitter_unit(state.feed_url, salt)))
    error = f"{outcome.error_class}: {outcome.error}" if outcome.error else outcome.error_class
    changed = replace(
        state,
        next_poll_at=now + timedelta(seconds=wait_s),
        last_polled_at=now,
        last_status=outcome.status,
        last_error=error,
        consecutive_failures=failures,
        polls_since_unconditional=polls_since,
    )
    if outcome.status == 410:
        changed = replace(
            changed, active=False, next_poll_at=None, inactive_reason=f"410 Gone on {now:%Y-%m-%d %H:%M} UTC"
        )
    return changed


def reactivate(state: FeedState, now: datetime) -> FeedState:
    """An operator's re-activation: active, failures forgotten, validators re-checked, due now."""
    return replace(
        state,
        active=True,
        inactive_reason=None,
        consecutive_failures=0.0,
        cache_trusted=True,
        polls_since_unconditional=0,
        next_poll_at=now,
        last_error=None,
    )


def feed_health(state: FeedState, settings: PollSettings) -> str:
    """One word for `newsdesk feeds`: ok, failing, dormant, inactive or new."""
    if not state.active:
        return "inactive"
    if state.last_polled_at is None:
        return "new"
    if state.consecutive_failures >= settings.dormant_after:
        return "dormant"
    if state.consecutive_failures > 0:
        return "failing"
    return "ok"
