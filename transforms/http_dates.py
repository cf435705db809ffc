"""HTTP header times, pure: how long a Retry-After asks to wait."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime


def parse_retry_after_s(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from `now` (delta-seconds or HTTP date), or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": a time in UTC whose sender did not say its own zone (RFC 5322)
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
