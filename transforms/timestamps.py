"""Timestamps as newsdesk compares and stores them: naive UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_naive(value: datetime | None) -> datetime | None:
    """A timestamp as naive UTC (aware ones converted, naive ones taken as UTC already)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value
