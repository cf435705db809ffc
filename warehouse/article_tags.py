"""Re-tagging stored articles: which are stale, reading them a range at a time, replacing their tags."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pyarrow as pa

from warehouse.batch_queries import id_table, run_with
from warehouse.clock import now_utc
from warehouse.db import run_transaction
from warehouse.load import SCHEMAS
from warehouse.sql import read_sql


def count_articles(connection: duckdb.DuckDBPyConnection) -> int:
    """How many articles the warehouse stores."""
    return connection.execute(read_sql("count_articles")).fetchone()[0]


def find_stale_articles(
    connection: duckdb.DuckDBPyConnection, version: str, candidates: list[str] | None, force: bool
) -> list[str]:
    """Ids of articles (all, or among `candidates`) whose tags are not of taxonomy `version`."""
    rows = run_with(
        connection,
        {"candidate_articles": id_table(candidates or [])},
        read_sql("select_stale_tags"),
        {"version": version, "everything": candidates is None, "force": force},
    )
    return [row[0] for row in rows]


def stream_articles(
    connection: duckdb.DuckDBPyConnection,
    article_ids: list[str] | None,
    rows_per_chunk: int,
    rows_per_read: int,
) -> Iterator[pa.RecordBatch]:
    """Id, title, text and origin of these articles (None: of every stored one), read `rows_per_read` at a
    time in storage order and yielded as record batches of at most `rows_per_chunk` rows."""
    # One rowid range per read: the scan skips the other row groups and memory holds one range at a time.
    if article_ids is not None and len(article_ids) == count_articles(connection):
        article_ids = None  # distinct stored ids: all of them, so no join (~2x faster)
    if article_ids is None:
        ranges_sql, range_sql = read_sql("select_article_ranges"), read_sql("select_article_range")
    else:
        connection.register("candidate_articles", id_table(article_ids))
        ranges_sql, range_sql = read_sql("select_candidate_ranges"), read_sql("select_articles_to_tag")
    ranges = connection.execute(ranges_sql, {"rows": rows_per_read}).fetchall()
    for first_row, last_row in ranges:
        # Executed, not a relation with parameters, whose scan filtered only after reading every row group.
        connection.execute(range_sql, {"first_row": first_row, "last_row": last_row})
        yield from connection.to_arrow_reader(rows_per_chunk)


def replace_tags(
    connection: duckdb.DuckDBPyConnection, article_ids: list[str], tags: dict[str, list], version: str
) -> dict[str, int]:
    """Replace the tags of these articles with `tags` (article_topics columns) in one transaction."""
    schema = SCHEMAS["article_topics"]
    new_tags = pa.table(
        [pa.array(tags[name], field.type) for name, field in zip(schema.names, schema, strict=True)],
        schema=schema,
    )
    views = {"retagged_articles": id_table(article_ids), "new_tags": new_tags}

    def replace(connection: duckdb.DuckDBPyConnection) -> int:
        (removed,) = run_with(connection, views, read_sql("delete_retagged_tags"))[0]
        run_with(
            connection, views, read_sql("insert_retagged_tags"), {"version": version, "tagged_at": now_utc()}
        )
        return removed

    removed = run_transaction(connection, replace)
    return {"articles_retagged": len(article_ids), "tags_removed": removed, "tags_added": new_tags.num_rows}
