"""Which of a batch's article ids, canonical URLs and text hashes are stored, read through article_keys
(migration 0017): integer keys of every stored value, so that a load scans three integer columns instead of
the articles' random-hash strings, and reads the strings only when an id or URL key is found."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from warehouse.sql import read_sql

KEY_COLUMNS = ("article_id", "canonical_url", "content_hash")


def insert_article_keys(connection: duckdb.DuckDBPyConnection, articles: pa.Table) -> None:
    """Add the keys of `articles` (rows with article_id, canonical_url, content_hash) to article_keys, inside
    the caller's transaction: every writer that inserts articles or changes their text calls it."""
    if articles.num_rows == 0:
        return
    connection.register("keyed_articles", articles.select(list(KEY_COLUMNS)))
    try:
        connection.execute(read_sql("insert_article_keys"))
    finally:
        connection.unregister("keyed_articles")


def select_stored_batch_keys(connection: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """The article ids, canonical URLs and text hashes of batch_articles (registered by the caller) that are
    stored, by column.

    Ids and URLs are exact: a key found sends them to the articles' own columns (a 64-bit key two values share
    must not keep a new article out). Text hashes may hold a value whose key only matches: they decide whether
    exact-copy marking runs, and the marking compares the hashes themselves.
    """
    found: dict[str, set[str]] = {column: set() for column in KEY_COLUMNS}
    for column, value in connection.execute(read_sql("select_batch_key_hits")).fetchall():
        found[column].add(value)
    if not found["article_id"] and not found["canonical_url"]:
        return found
    exact: dict[str, set[str]] = {column: set() for column in KEY_COLUMNS}
    for column, value in connection.execute(read_sql("select_stored_batch_articles")).fetchall():
        exact[column].add(value)
    return exact
