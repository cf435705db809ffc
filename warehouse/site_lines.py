"""Site lines: the short lines of each stored article, by site, and the counts that tell a site's boilerplate
(rule in transforms/site_lines.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from transforms.outlets import outlet_of
from transforms.site_lines import MIN_SITE_PAGES, SITE_LINE_WINDOW_DAYS, fingerprint_short_lines
from warehouse.sql import read_sql

SITE_LINES_SCHEMA = pa.schema(
    [
        ("site", pa.string()),
        ("line_hash", pa.int64()),
        ("article_id", pa.string()),
        ("seen_at", pa.timestamp("us")),
    ]
)


def make_site_line_rows(articles: list[dict[str, Any]], seen_at: datetime) -> pa.Table:
    """The site_lines rows of a batch's article rows: each short line of an article's text, once each."""
    columns: dict[str, list[Any]] = {name: [] for name in SITE_LINES_SCHEMA.names}
    done: set[str] = set()
    for article in articles:
        site, article_id = outlet_of(article.get("final_url") or ""), article["article_id"]
        if not site or article_id in done:
            continue
        done.add(article_id)
        lines = article.get("site_lines")  # the page's lines before its boilerplate was dropped
        if lines is None:
            lines = fingerprint_short_lines(article.get("text") or "")
        for line_hash in sorted(lines):
            columns["site"].append(site)
            columns["line_hash"].append(line_hash)
            columns["article_id"].append(article_id)
            columns["seen_at"].append(seen_at)
    return pa.table(columns, schema=SITE_LINES_SCHEMA)


def insert_site_lines(
    connection: duckdb.DuckDBPyConnection, articles: list[dict[str, Any]], seen_at: datetime
) -> int:
    """Append the short lines of the batch's articles to site_lines (inside the caller's transaction)."""
    rows = make_site_line_rows(articles, seen_at)
    if not rows.num_rows:
        return 0
    connection.register("batch_site_lines", rows)
    try:
        return connection.execute(read_sql("insert_site_lines")).fetchone()[0]
    finally:
        connection.unregister("batch_site_lines")


def select_site_line_counts(
    connection: duckdb.DuckDBPyConnection,
    sites: list[str],
    now: datetime,
    min_pages: int = MIN_SITE_PAGES,
    window_days: int = SITE_LINE_WINDOW_DAYS,
) -> list[tuple[str, int, int]]:
    """(site, line fingerprint, pages) for the lines of these sites seen on at least `min_pages` distinct
    pages in the last `window_days` days."""
    if not sites:
        return []
    connection.register("batch_sites", pa.table({"site": pa.array(sorted(set(sites)), pa.string())}))
    try:
        cursor = connection.execute(
            read_sql("select_site_line_counts"),
            {"since": now - timedelta(days=window_days), "min_pages": min_pages},
        )
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        connection.unregister("batch_sites")
