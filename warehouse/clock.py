"""Timestamps as the warehouse stores them: naive UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from transforms.timestamps import utc_naive

__all__ = ["now_utc", "utc_naive"]


def now_utc() -> datetime:
    """The current time as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
