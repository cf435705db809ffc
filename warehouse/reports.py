"""What the HTML report reads: stories per day by main topic, top outlets and the biggest story clusters."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from warehouse.arrow_rows import dict_rows
from warehouse.sql import read_sql


def select_main_topic_days(
    connection: duckdb.DuckDBPyConnection, topic_id: str | None, max_topics: int
) -> list[tuple[date, str, int]]:
    """(day, main topic label or 'other', distinct stories), by day, for stories tagged `topic_id` (all when
    None), each story counted under one of the `max_topics` biggest topics."""
    parameters = {"topic": topic_id, "max_topics": max_topics}
    return connection.execute(read_sql("report_main_topics"), parameters).fetchall()


def select_top_outlets(
    connection: duckdb.DuckDBPyConnection, topic_id: str | None, limit: int
) -> list[tuple[str, int, int]]:
    """(outlet, distinct stories, repeats) of the outlets with the most stories tagged `topic_id` (or all)."""
    return connection.execute(read_sql("report_top_outlets"), {"topic": topic_id, "limit": limit}).fetchall()


def select_biggest_clusters(
    connection: duckdb.DuckDBPyConnection, topic_id: str | None, limit: int
) -> list[dict[str, Any]]:
    """The stories carried by the most pages (tagged `topic_id`, or all), with their pages and outlets."""
    parameters = {"topic": topic_id, "limit": limit}
    return dict_rows(connection.execute(read_sql("report_biggest_clusters"), parameters))
