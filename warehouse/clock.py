"""Timestamps as the warehouse stores them: naive UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_naive(value: datetime | None) -> datetime | None:
    """Store timestamps as naive UTC, the warehouse convention."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def now_utc() -> datetime:
    """The current time as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
