"""Polling decisions: conditional requests, adaptive intervals, backoff, dormancy and 410."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from transforms.polling import (
    FeedState,
    PollOutcome,
    PollSettings,
    build_feed_request,
    feed_health,
    is_due,
    parse_max_age,
    plan_next_poll,
    reactivate,
    select_due,
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
SETTINGS = PollSettings()
URL = "https://news.example/feed.xml"


def polled_state(**changes) -> FeedState:
    """A feed that has been polled successfully before."""
    base = FeedState(
        URL,
        etag='"a"',
        last_modified="Sat, 01 Jun 2024 10:00:00 GMT",
        body_hash="h1",
        poll_every_s=900,
        last_success_at=NOW - timedelta(hours=1),
        last_polled_at=NOW - timedelta(hours=1),
    )
    return replace(base, **changes)


def ok(**changes) -> PollOutcome:
    """A 200 with ten items, two new."""
    values = dict(status=200, conditional=True, etag='"b"', body_hash="h2", items_total=10, items_new=2)
    values.update(changes)
    return PollOutcome(**values)


def wait_of(state: FeedState) -> float:
    """Seconds from NOW to the planned next poll."""
    return (state.next_poll_at - NOW).total_seconds()


def test_request_is_conditional_with_validators():
    request = build_feed_request(polled_state(), NOW, SETTINGS)
    assert request.conditional and request.etag == '"a"' and request.last_modified.endswith("GMT")


def test_request_without_validators_is_unconditional():
    request = build_feed_request(FeedState(URL), NOW, SETTINGS)
    assert not request.conditional and request.etag is None


def test_every_nth_poll_is_unconditional():
    state = polled_state(polls_since_unconditional=SETTINGS.unconditional_every - 1)
    assert not build_feed_request(state, NOW, SETTINGS).conditional
    assert build_feed_request(replace(state, polls_since_unconditional=0), NOW, SETTINGS).conditional


def test_untrusted_cache_always_polls_unconditionally():
    assert not build_feed_request(polled_state(cache_trusted=False), NOW, SETTINGS).conditional


def test_304_keeps_validators_and_counts_as_success():
    state = polled_state(consecutive_failures=2.0, polls_since_unconditional=3)
    after = plan_next_poll(state, PollOutcome(status=304, conditional=True), NOW, SETTINGS)
    assert after.etag == '"a"' and after.body_hash == "h1" and after.last_status == 304
    assert after.consecutive_failures == 0 and after.last_success_at == NOW
    assert after.polls_since_unconditional == 4


def test_200_stores_new_validators_and_resets_counter_when_unconditional():
    after = plan_next_poll(polled_state(polls_since_unconditional=11), ok(conditional=False), NOW, SETTINGS)
    assert after.etag == '"b"' and after.body_hash == "h2" and after.polls_since_unconditional == 0


def test_wrong_304_detected_by_unconditional_poll():
    # Same ETag as the one the server kept answering 304 to, but the content changed.
    outcome = ok(conditional=False, etag='"a"', body_hash="h-new")
    after = plan_next_poll(polled_state(last_status=304), outcome, NOW, SETTINGS)
    assert after.cache_trusted is False


def test_honest_server_stays_trusted():
    assert plan_next_poll(polled_state(), ok(conditional=False, etag='"b"'), NOW, SETTINGS).cache_trusted
    same = ok(conditional=False, etag='"a"', body_hash="h1", items_new=0)
    assert plan_next_poll(polled_state(), same, NOW, SETTINGS).cache_trusted


def test_all_new_items_polls_sooner():
    state = polled_state(poll_every_s=3600)
    after = plan_next_poll(state, ok(items_total=20, items_new=20), NOW, SETTINGS)
    assert after.poll_every_s < 3600 and wait_of(after) < 3600


def test_nothing_new_polls_later():
    state = polled_state(poll_every_s=3600)
    after = plan_next_poll(state, PollOutcome(status=304, conditional=True), NOW, SETTINGS)
    assert after.poll_every_s > 3600 and wait_of(after) > 3600


def test_first_poll_does_not_adapt_interval():
    first = FeedState(URL, poll_every_s=1800)
    after = plan_next_poll(first, ok(items_total=30, items_new=30, conditional=False), NOW, SETTINGS)
    assert after.poll_every_s == 1800


def test_interval_is_clamped_to_bounds():
    fast = polled_state(poll_every_s=SETTINGS.min_poll_every_s)
    after = plan_next_poll(fast, ok(items_total=5, items_new=5), NOW, SETTINGS)
    assert after.poll_every_s == SETTINGS.min_poll_every_s and wait_of(after) >= SETTINGS.min_poll_every_s
    slow = polled_state(poll_every_s=SETTINGS.max_poll_every_s)
    after = plan_next_poll(slow, PollOutcome(status=304, conditional=True), NOW, SETTINGS)
    assert wait_of(after) <= SETTINGS.max_poll_every_s


@pytest.mark.parametrize(
    ("hint", "expected_min_s"), [({"ttl_minutes": 120}, 7200), ({"max_age_s": 5400}, 5400)]
)
def test_server_hints_are_a_floor(hint, expected_min_s):
    after = plan_next_poll(polled_state(poll_every_s=600), ok(**hint), NOW, SETTINGS)
    assert wait_of(after) >= expected_min_s * (1 - SETTINGS.jitter_fraction)


def test_absurd_hint_is_clamped_to_a_day():
    after = plan_next_poll(polled_state(), ok(ttl_minutes=60 * 24 * 30), NOW, SETTINGS)
    assert wait_of(after) <= SETTINGS.max_poll_every_s


def test_failures_back_off_exponentially_with_cap():
    state = polled_state()
    waits = []
    for step in range(8):
        state = plan_next_poll(
            state,
            PollOutcome(status=500, conditional=True, error_class="http_500", error="HTTP 500"),
            NOW + timedelta(minutes=step),
            SETTINGS,
        )
        waits.append((state.next_poll_at - (NOW + timedelta(minutes=step))).total_seconds())
    assert state.consecutive_failures == 8.0 and state.active
    assert waits[1] > waits[0] * 1.4 and waits[3] > waits[2] * 1.4
    assert max(waits) <= SETTINGS.max_backoff_s * (1 + 2 * SETTINGS.jitter_fraction)


def test_feed_failing_five_times_backs_off_but_is_still_polled():
    state = polled_state()
    for _step in range(5):
        state = plan_next_poll(
            state,
            PollOutcome(status=None, conditional=True, error_class="connect_error", error="refused"),
            NOW,
            SETTINGS,
        )
    assert state.active and state.next_poll_at is not None
    assert wait_of(state) > 4 * 900 * 0.8  # backed off well beyond the normal interval
    later = state.next_poll_at + timedelta(seconds=1)
    assert is_due(state, later) and not is_due(state, NOW)
    assert feed_health(state, SETTINGS) == "failing"


def test_transient_failures_weigh_less_than_permanent_ones():
    timeout = plan_next_poll(polled_state(), PollOutcome(None, True, "timeout", "slow"), NOW, SETTINGS)
    missing = plan_next_poll(polled_state(), PollOutcome(404, True, "http_404", "gone?"), NOW, SETTINGS)
    assert timeout.consecutive_failures < missing.consecutive_failures


def test_dormant_feed_gets_revival_probe():
    state = polled_state(consecutive_failures=SETTINGS.dormant_after)
    after = plan_next_poll(state, PollOutcome(None, True, "connect_error", "refused"), NOW, SETTINGS)
    assert after.active and feed_health(after, SETTINGS) == "dormant"
    assert wait_of(after) >= SETTINGS.revival_probe_s * (1 - 2 * SETTINGS.jitter_fraction)
    revived = plan_next_poll(after, PollOutcome(status=304, conditional=True), NOW, SETTINGS)
    assert revived.consecutive_failures == 0 and feed_health(revived, SETTINGS) == "ok"


def test_retry_after_pushes_next_poll():
    outcome = PollOutcome(429, True, "http_429", "slow down", retry_after_s=7200)
    after = plan_next_poll(polled_state(), outcome, NOW, SETTINGS)
    assert wait_of(after) >= 7200


@pytest.mark.parametrize("retry_after_s", [3600, 7200, 20_000])
def test_retry_after_is_never_undercut_and_jitters_only_upwards(retry_after_s):
    outcome = PollOutcome(429, True, "http_429", "slow down", retry_after_s=retry_after_s)
    waits = [
        wait_of(plan_next_poll(polled_state(feed_url=f"https://n{i}.example/f"), outcome, NOW, SETTINGS))
        for i in range(500)
    ]
    upward = 1 + 2 * SETTINGS.jitter_fraction
    assert all(retry_after_s <= wait <= retry_after_s * upward for wait in waits)
    assert max(waits) > retry_after_s * (1 + SETTINGS.jitter_fraction)  # still spread over the range


def test_410_marks_feed_inactive_with_reason():
    after = plan_next_poll(polled_state(), PollOutcome(410, True, "http_410", "HTTP 410"), NOW, SETTINGS)
    assert not after.active and "410 Gone" in after.inactive_reason and after.next_poll_at is None
    assert feed_health(after, SETTINGS) == "inactive"
    assert select_due([after], NOW + timedelta(days=30), force=True) == []


def test_reactivate_makes_feed_due_now():
    gone = plan_next_poll(polled_state(), PollOutcome(410, True, "http_410", "HTTP 410"), NOW, SETTINGS)
    back = reactivate(gone, NOW)
    assert back.active and back.inactive_reason is None and back.consecutive_failures == 0
    assert is_due(back, NOW)


def test_select_due_and_force():
    due = polled_state(next_poll_at=NOW - timedelta(seconds=1))
    later = polled_state(feed_url="https://b.example/f", next_poll_at=NOW + timedelta(hours=1))
    assert select_due([due, later], NOW) == [due]
    assert select_due([due, later], NOW, force=True) == [due, later]


def test_jitter_is_deterministic_and_spreads_feeds():
    a = plan_next_poll(polled_state(), ok(), NOW, SETTINGS)
    b = plan_next_poll(polled_state(), ok(), NOW, SETTINGS)
    others = {
        plan_next_poll(polled_state(feed_url=f"https://n{i}.example/f"), ok(), NOW, SETTINGS).next_poll_at
        for i in range(10)
    }
    assert a == b and len(others) > 5


def test_max_age_parser():
    assert parse_max_age("public, max-age=600") == 600
    assert parse_max_age("no-cache, max-age=600") is None and parse_max_age(None) is None


def test_poll_settings_validate_keys_and_values():
    tuned = PollSettings.model_validate({"unconditional_every": 3, "max_backoff_s": "7200"})
    assert tuned.unconditional_every == 3 and tuned.max_backoff_s == 7200
    for bad, key in (
        ({"nope": 1}, "nope"),
        ({"min_poll_every_s": -1}, "min_poll_every_s"),
        ({"min_poll_every_s": 90000}, "min_poll_every_s must not exceed"),
        ({"unconditional_every": 1.5}, "unconditional_every"),
    ):
        with pytest.raises(ValidationError, match=key):
            PollSettings.model_validate(bad)
