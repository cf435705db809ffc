"""Feed lists written out, pure: warehouse feed rows as OPML outlines, as a sources file's YAML, as CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import yaml

from transforms.opml import OutlineFeed

CSV_COLUMNS = [
    "feed_url", "name", "language", "tags", "html_url", "poll_every_s", "subscription", "origin", "title"
]


def outline_from_row(row: dict[str, Any]) -> OutlineFeed:
    """A warehouse feed row (warehouse.feeds.read_feed_list) as an OPML outline feed."""
    attributes = json.loads(row["outline_attributes"]) if row.get("outline_attributes") else {}
    return OutlineFeed(
        feed_url=row["feed_url"],
        name=row.get("name") or row.get("title"),
        html_url=row.get("html_url"),
        language=row.get("language"),
        tags=tuple(row.get("tags") or ()),
        attributes=attributes,
    )


def render_sources_yaml(rows: list[dict[str, Any]]) -> str:
    """A sources file holding the feeds (url, name, language, tags), usable with `ingest --sources`."""
    feeds = []
    for row in rows:
        feed: dict[str, Any] = {"url": row["feed_url"]}
        for key in ("name", "language"):
            if row.get(key):
                feed[key] = row[key]
        if row.get("tags"):
            feed["tags"] = list(row["tags"])
        feeds.append(feed)
    return yaml.safe_dump({"feeds": feeds}, allow_unicode=True, sort_keys=False)


def render_feeds_csv(rows: list[dict[str, Any]]) -> str:
    """One CSV line per feed, tags joined by ';'."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = {**row, "tags": ";".join(row.get("tags") or ())}
        writer.writerow(["" if values.get(column) is None else values[column] for column in CSV_COLUMNS])
    return buffer.getvalue()
