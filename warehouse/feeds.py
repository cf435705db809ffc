"""Feed registry and polling state in the warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.arrow_rows import dict_rows, table_from_rows
from warehouse.load import now_utc
from warehouse.sql import read_sql

FEED_STATE_SCHEMA = pa.schema(
    [
        ("feed_url", pa.string()),
        ("title", pa.string()),
        ("active", pa.bool_()),
        ("inactive_reason", pa.string()),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("body_hash", pa.string()),
        ("cache_trusted", pa.bool_()),
        ("poll_every_s", pa.int32()),
        ("next_poll_at", pa.timestamp("us")),
        ("last_polled_at", pa.timestamp("us")),
        ("last_success_at", pa.timestamp("us")),
        ("last_status", pa.int32()),
        ("last_error", pa.string()),
        ("consecutive_failures", pa.float64()),
        ("polls_since_unconditional", pa.int32()),
    ]
)


CONFIGURED_FEED_SCHEMA = pa.schema(
    [
        ("feed_url", pa.string()),
        ("name", pa.string()),
        ("language", pa.string()),
        ("source", pa.string()),
        ("added_at", pa.timestamp("us")),
    ]
)
SUBSCRIBED_FEED_SCHEMA = pa.schema(
    [
        ("feed_url", pa.string()),
        ("name", pa.string()),
        ("language", pa.string()),
        ("source", pa.string()),
        ("html_url", pa.string()),
        ("outline_attributes", pa.string()),
        ("origin", pa.string()),
        ("added_at", pa.timestamp("us")),
    ]
)
FEED_TAG_SCHEMA = pa.schema(
    [("feed_url", pa.string()), ("tag", pa.string()), ("added_at", pa.timestamp("us"))]
)


def register_feeds(
    connection: duckdb.DuckDBPyConnection, feeds: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Upsert the sources file's feeds (and their tags) and return the polling state of every feed to poll."""
    added_at = now_utc()
    table = pa.Table.from_pylist(
        [{**feed, "added_at": added_at} for feed in feeds], schema=CONFIGURED_FEED_SCHEMA
    )
    tags = [
        {"feed_url": feed["feed_url"], "tag": tag, "added_at": added_at}
        for feed in feeds
        for tag in feed.get("tags") or ()
    ]
    connection.register("configured_feeds", table)
    try:
        connection.execute(read_sql("upsert_configured_feeds"))
        if tags:  # without any, nothing is written, so that a re-run checkpoints nothing
            with registered(connection, "configured_feed_tags", table_from_rows(tags, FEED_TAG_SCHEMA)):
                connection.execute(read_sql("insert_configured_feed_tags"))
        cursor = connection.execute(read_sql("select_feed_states"))
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.unregister("configured_feeds")


@contextmanager
def registered(connection: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    """Make an Arrow table readable by name for the duration of a block."""
    connection.register(name, table)
    try:
        yield
    finally:
        connection.unregister(name)


def subscribe_feeds(
    connection: duckdb.DuckDBPyConnection, feeds: list[dict[str, Any]], tags: list[tuple[str, str]]
) -> int:
    """Add feeds (and their tags) from the command line or an OPML file; return how many were new."""
    added_at = now_utc()
    urls = [feed["feed_url"] for feed in feeds]
    known = {row[0] for row in connection.execute(read_sql("select_listed_feeds"), {"urls": urls}).fetchall()}
    rows = [{**feed, "added_at": added_at} for feed in feeds]
    with registered(connection, "subscribed_feeds", table_from_rows(rows, SUBSCRIBED_FEED_SCHEMA)):
        connection.execute(read_sql("upsert_subscribed_feeds"))
    add_feed_tags(connection, tags)
    return len(set(urls) - known)


def add_feed_tags(connection: duckdb.DuckDBPyConnection, tags: list[tuple[str, str]]) -> None:
    """Give feeds tags; (feed_url, tag) pairs already stored are left alone."""
    if not tags:
        return
    added_at = now_utc()
    rows = [{"feed_url": url, "tag": tag, "added_at": added_at} for url, tag in sorted(set(tags))]
    with registered(connection, "new_feed_tags", table_from_rows(rows, FEED_TAG_SCHEMA)):
        connection.execute(read_sql("insert_feed_tags"))


def remove_feed_tags(connection: duckdb.DuckDBPyConnection, feed_url: str, tags: list[str]) -> None:
    """Take tags off one feed."""
    if tags:
        connection.execute(read_sql("delete_feed_tags"), {"feed_url": feed_url, "tags": tags})


def set_feed_subscription(connection: duckdb.DuckDBPyConnection, feed_url: str, subscription: str) -> bool:
    """Pause, resume or remove a feed still in the list; False when there is no such feed."""
    parameters = {"feed_url": feed_url, "subscription": subscription, "changed_at": now_utc()}
    return connection.execute(read_sql("update_feed_subscription"), parameters).fetchone()[0] > 0


def update_feed_settings(
    connection: duckdb.DuckDBPyConnection,
    feed_url: str,
    name: str | None = None,
    language: str | None = None,
    poll_every_s: int | None = None,
) -> bool:
    """Edit a feed's name, language or polling interval (None keeps it); False when there is no such feed."""
    parameters = {
        "feed_url": feed_url,
        "name": name,
        "language": language,
        "poll_every_s": poll_every_s,
        "now": now_utc(),
    }
    return connection.execute(read_sql("update_feed_settings"), parameters).fetchone()[0] > 0


def read_feed_list(connection: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every feed still in the list, with its tags and kept OPML attributes, ordered by URL."""
    cursor = connection.execute(read_sql("select_feed_list"))
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def update_feed_states(connection: duckdb.DuckDBPyConnection, states: list[dict[str, Any]]) -> None:
    """Write back polling state for the feeds that were polled."""
    if not states:
        return
    connection.register("feed_updates", table_from_rows(states, FEED_STATE_SCHEMA))
    try:
        connection.execute(read_sql("update_feed_states"))
    finally:
        connection.unregister("feed_updates")


def select_unseen_entries(
    connection: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Return the (feed_url, guid) pairs the warehouse has not recorded yet."""
    if not keys:
        return set()
    table = pa.Table.from_pylist(
        [{"feed_url": feed_url, "guid": guid} for feed_url, guid in keys],
        schema=pa.schema([("feed_url", pa.string()), ("guid", pa.string())]),
    )
    connection.register("polled_entries", table)
    try:
        return {(row[0], row[1]) for row in connection.execute(read_sql("select_unseen_entries")).fetchall()}
    finally:
        connection.unregister("polled_entries")


def select_known_urls(connection: duckdb.DuckDBPyConnection, canonical_urls: list[str]) -> dict[str, str]:
    """Map canonical URLs that already belong to a stored article to that article's id."""
    if not canonical_urls:
        return {}
    table = pa.Table.from_pylist(
        [{"canonical_url": url} for url in sorted(set(canonical_urls))],
        schema=pa.schema([("canonical_url", pa.string())]),
    )
    connection.register("candidate_urls", table)
    try:
        return dict(connection.execute(read_sql("select_known_urls")).fetchall())
    finally:
        connection.unregister("candidate_urls")


def select_recorded_entries(
    connection: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The recorded entries (link, title, summary, published_at) for these (feed_url, guid) keys, by key."""
    table = pa.Table.from_pylist(
        [{"feed_url": feed_url, "guid": guid} for feed_url, guid in keys],
        schema=pa.schema([("feed_url", pa.string()), ("guid", pa.string())]),
    )
    with registered(connection, "wanted_entries", table):
        rows = dict_rows(connection.execute(read_sql("select_entries_by_key")))
    return {(row["feed_url"], row["guid"]): row for row in rows}


def select_feed_rows(
    connection: duckdb.DuckDBPyConnection, feed_url: str | None = None
) -> list[dict[str, Any]]:
    """Rows of the `feeds` table (every column), ordered by URL; only `feed_url`'s when given."""
    return dict_rows(connection.execute(read_sql("select_feed_rows"), {"feed_url": feed_url}))
