"""The warehouse tables' Arrow schemas for bulk loads, and plain rows turned into Arrow tables by them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pyarrow as pa

from warehouse.clock import utc_naive

TS = pa.timestamp("us")
STR = pa.string()

SCHEMAS: dict[str, pa.Schema] = {
    "entries": pa.schema(
        [
            ("feed_url", STR),
            ("guid", STR),
            ("link", STR),
            ("title", STR),
            ("summary", STR),
            ("published_at", TS),
            ("first_seen_at", TS),
            ("run_id", STR),
            ("updated_at", TS),
        ]
    ),
    "fetches": pa.schema(
        [
            ("run_id", STR),
            ("url", STR),
            ("kind", STR),
            ("status", pa.int32()),
            ("bytes", pa.int64()),
            ("elapsed_ms", pa.float64()),
            ("final_url", STR),
            ("error_class", STR),
            ("error", STR),
            ("fetched_at", TS),
        ]
    ),
    "raw_pages": pa.schema(
        [
            ("url", STR),
            ("final_url", STR),
            ("status", pa.int32()),
            ("content_type", STR),
            ("fetched_at", TS),
            ("body_compressed", pa.binary()),
            ("body_bytes", pa.int64()),
            ("body_hash", STR),
            ("run_id", STR),
            ("body_codec", STR),
            ("body_file", STR),
        ]
    ),
    "articles": pa.schema(
        [
            ("article_id", STR),
            ("canonical_url", STR),
            ("url", STR),
            ("final_url", STR),
            ("feed_url", STR),
            ("source", STR),
            ("title", STR),
            ("byline", STR),
            ("published_at", TS),
            ("language", STR),
            ("text", STR),
            ("word_count", pa.int32()),
            ("content_hash", STR),
            ("categories", pa.list_(STR)),
            ("first_seen_at", TS),
            ("updated_at", TS),
            ("extractor_version", STR),
            ("cleaner_version", STR),
            ("run_id", STR),
            ("batch_rank", pa.int32()),
            ("published_source", STR),
            ("date_candidates", STR),  # JSON list
            ("modified_at", TS),
            ("language_source", STR),
            ("language_confidence", pa.float64()),
            ("declared_language", STR),
            ("extractor", STR),
        ]
    ),
    "extraction_alarms": pa.schema(
        [
            ("run_id", STR),
            ("source", STR),
            ("flagged_at", TS),
            ("pages", pa.int32()),
            ("failed_share", pa.float64()),
            ("baseline_pages", pa.int32()),
            ("baseline_share", pa.float64()),
        ]
    ),
    "article_refs": pa.schema(
        [("article_id", STR), ("feed_url", STR), ("guid", STR), ("url", STR), ("seen_at", TS)]
    ),
    "duplicates": pa.schema(
        [
            ("article_id", STR),
            ("duplicate_of", STR),
            ("similarity", pa.float64()),
            ("method", STR),
            ("url", STR),
            ("detected_at", TS),
            ("run_id", STR),
        ]
    ),
    "topics": pa.schema(
        [
            ("topic_id", STR),
            ("label", STR),
            ("kind", STR),
            ("parents", pa.list_(STR)),
            ("taxonomy_version", STR),
        ]
    ),
    "article_topics": pa.schema(
        [
            ("article_id", STR),
            ("topic_id", STR),
            ("score", pa.float64()),
            ("evidence", STR),
            ("taxonomy_version", STR),
        ]
    ),
    "failures": pa.schema(
        [
            ("run_id", STR),
            ("stage", STR),
            ("url", STR),
            ("feed_url", STR),
            ("reason", STR),
            ("detail", STR),
            ("retry", STR),
            ("failed_at", TS),
            ("resolved_at", TS),
        ]
    ),
}


def to_arrow(table: str, rows: Iterable[dict[str, Any]]) -> pa.Table:
    """Build an Arrow table with the warehouse schema of `table` from plain dict rows."""
    schema = SCHEMAS[table]
    prepared = []
    for row in rows:
        item = {}
        for column in schema.names:
            value = row.get(column)
            if isinstance(value, datetime):
                value = utc_naive(value)
            elif isinstance(value, dict | list) and schema.field(column).type == STR:
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            item[column] = value
        prepared.append(item)
    return pa.Table.from_pylist(prepared, schema=schema)
