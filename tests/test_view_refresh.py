"""Views follow their files: a warehouse whose view was made from another definition gets it made again."""

from __future__ import annotations

from warehouse.db import open_warehouse, write_session
from warehouse.migrate import apply_migrations


def test_a_view_made_from_another_definition_is_made_again(warehouse):
    with open_warehouse(warehouse) as connection:
        connection.execute("CREATE OR REPLACE VIEW feed_health AS SELECT 1 AS stale")
    with write_session(warehouse) as connection:
        apply_migrations(connection)
        columns = [row[0] for row in connection.execute("DESCRIBE feed_health").fetchall()]
    assert "stale" not in columns and "feed_url" in columns


def test_feed_health_leaves_removed_feeds_out_and_shows_paused_ones(warehouse):
    with write_session(warehouse) as connection:
        for url, subscription in [("http://a.example/feed", "subscribed"), ("http://b.example/feed", "paused"),
                                  ("http://c.example/feed", "removed")]:
            connection.execute(
                "INSERT INTO feeds (feed_url, name, subscription, added_at) VALUES (?, ?, ?, now())",
                [url, url, subscription],
            )
        rows = connection.execute("SELECT feed_url, subscription FROM feed_health ORDER BY 1").fetchall()
    assert rows == [("http://a.example/feed", "subscribed"), ("http://b.example/feed", "paused")]
