"""Conversion between warehouse `feeds` rows and the pure polling records of transforms/polling.py."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from transforms.polling import FeedState

_STATE_FIELDS = tuple(f.name for f in fields(FeedState))


def aware_utc(value: datetime | None) -> datetime | None:
    """A warehouse timestamp (naive UTC) as an aware UTC datetime."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def state_from_row(row: dict[str, Any]) -> FeedState:
    """FeedState from a `feeds` row (missing or NULL columns take the dataclass defaults)."""
    values: dict[str, Any] = {}
    for name in _STATE_FIELDS:
        value = row.get(name)
        if value is None:
            continue
        values[name] = aware_utc(value) if name.endswith("_at") else value
    values["consecutive_failures"] = float(values.get("consecutive_failures", 0.0))
    return FeedState(**values)


def row_from_state(state: FeedState, title: str | None = None) -> dict[str, Any]:
    """A `feeds` update row (for warehouse.feeds.update_feed_states) from a FeedState."""
    row = {name: getattr(state, name) for name in _STATE_FIELDS}  # asdict would deep-copy every value
    row["title"] = title
    return row
