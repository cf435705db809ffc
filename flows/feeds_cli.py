"""`newsdesk feeds`: every feed with its health, and re-activation of a feed (registered on the main app)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli import CliError, DbOption, OutputFormat, app, print_rows
from flows.feed_state import row_from_state, state_from_row
from transforms.polling import PollSettings, feed_health, reactivate

SELECT_FEEDS = "SELECT * FROM feeds ORDER BY feed_url"
SELECT_FEED = "SELECT * FROM feeds WHERE feed_url = ?"
COLUMNS = [
    "feed_url",
    "health",
    "last_success_at",
    "failures",
    "last_status",
    "next_poll_at",
    "every_min",
    "note",
]


def read_feed_rows(connection: Any, query: str, parameters: list[Any] | None = None) -> list[dict[str, Any]]:
    """Rows of the `feeds` table as dicts."""
    cursor = connection.execute(query, parameters or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def minute(moment: datetime | None) -> str | None:
    """A UTC time to the minute, for display."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment else None


def describe_feed(row: dict[str, Any], settings: PollSettings) -> list[Any]:
    """One display row: health word, failures, UTC times to the minute, and why it is unwell (one line)."""
    state = state_from_row(row)
    note = state.inactive_reason or state.last_error or ("" if state.cache_trusted else "304s not trusted")
    return [
        state.feed_url,
        feed_health(state, settings),
        minute(state.last_success_at),
        round(state.consecutive_failures, 1),
        state.last_status,
        minute(state.next_poll_at),
        round(state.poll_every_s / 60, 1),
        " ".join(note.split())[:80] or None,
    ]


def activate_feed(db: Path, feed_url: str) -> None:
    """Re-activate one feed: failures forgotten, validators re-checked, due at the next ingest run."""
    from warehouse.db import transaction, write_session
    from warehouse.feeds import update_feed_states

    with write_session(db) as connection, transaction(connection):
        rows = read_feed_rows(connection, SELECT_FEED, [feed_url])
        if not rows:
            raise CliError(f"no feed {feed_url!r} in {db} (see `newsdesk feeds`)")
        state = reactivate(state_from_row(rows[0]), datetime.now(UTC))
        update_feed_states(connection, [row_from_state(state)])


@app.command()
def feeds(
    db: DbOption = Path("data/news.duckdb"),
    activate: Annotated[str | None, typer.Option("--activate", help="Re-activate this feed URL.")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
) -> None:
    """List feeds with their health (last success, failures, status, next poll); --activate re-enables one."""
    from warehouse.db import read_session

    if not Path(db).exists():
        raise CliError(f"no warehouse at {db}; run `newsdesk ingest` first")
    if activate:
        activate_feed(db, activate)
        print(f"re-activated {activate}; it is polled at the next `newsdesk ingest`")
    settings = PollSettings()
    with read_session(db) as connection:
        rows = read_feed_rows(connection, SELECT_FEEDS)
    print_rows(COLUMNS, [describe_feed(row, settings) for row in rows], output)
