"""A single-file warehouse as newsdesk kept it before the lake (schema 1-10), built for tests that move it.

    old = build_single_file_warehouse(tmp_path / "news.duckdb")              # schema 10, a few rows per table
    old = build_single_file_warehouse(path, version=9, extra_articles=20_000)  # older schema, more articles

It is a real DuckDB file made by `apply_migrations(connection, SINGLE_FILE_MIGRATIONS_DIR)` (migrations 1 to
`version`), with rows in feeds, entries, articles, article_refs, topics, article_topics, runs, failures and
raw_pages: one page with its body inline (body_compressed) and, from schema 6, one whose body sits in a real
Parquet page file under the old pages folder (`news.pages/` beside `news.duckdb`), named by raw_pages.body_file.
"""

from __future__ import annotations

import contextlib
import json
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from warehouse.migrate import SINGLE_FILE_MIGRATIONS_DIR, list_migrations
from warehouse.page_files import write_page_file

RUN_ID = "run-0001-old-warehouse"
SEEN = datetime(2024, 5, 1, 8, 30, 15, 123456)
PUBLISHED = datetime(2024, 4, 30, 22, 0)
INLINE_BODY = b"<html><body><p>Inline body stored in raw_pages.</p></body></html>"
FILE_BODY = b"<html><body><p>Body kept in a page file beside the warehouse.</p></body></html>"
FEED = "https://news.example/rss.xml"


@dataclass(frozen=True)
class OldWarehouse:
    """What was built: the file, its pages folder, and the rows a test can look for."""

    path: Path
    version: int
    pages_dir: Path
    page_file: str | None  # raw_pages.body_file of the page kept in a file (None below schema 6)
    inline_url: str
    file_url: str | None
    articles: int  # rows in articles


def apply_single_file_migrations(connection: duckdb.DuckDBPyConnection, version: int) -> None:
    """Apply the single-file migrations 1..version, as the newsdesk of that schema did."""
    connection.execute(
        "CREATE TABLE schema_version (version INTEGER NOT NULL, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    for number, name, path in list_migrations(SINGLE_FILE_MIGRATIONS_DIR):
        if number <= version:
            connection.execute(path.read_text(encoding="utf-8"))
            connection.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [number, name, SEEN])


def insert_rows(connection: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows by column name, leaving out the columns the table does not have at this schema."""
    have = {row[0] for row in connection.execute(f"DESCRIBE {table}").fetchall()}
    for row in rows:
        kept = {name: value for name, value in row.items() if name in have}
        names = ", ".join(f'"{name}"' for name in kept)
        marks = ", ".join("?" for _ in kept)
        connection.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(kept.values()))


def article_row(number: int) -> dict[str, Any]:
    """One article, every kind of value set: timestamps, a list, JSON text, floats."""
    return {
        "article_id": f"a{number:06d}",
        "canonical_url": f"https://news.example/story/{number}",
        "url": f"https://news.example/story/{number}?utm_source=rss",
        "final_url": f"https://news.example/story/{number}",
        "feed_url": FEED,
        "source": "news.example",
        "title": f"Story {number}: ünïcode “quotes”",
        "byline": "A. Reporter",
        "published_at": PUBLISHED,
        "language": "en",
        "text": f"Text of story {number}. " * 20,
        "word_count": 80,
        "content_hash": f"hash{number:06d}",
        "categories": ["world", "middle-east"],
        "first_seen_at": SEEN,
        "updated_at": SEEN,
        "extractor_version": "x1",
        "cleaner_version": "c1",
        "run_id": RUN_ID,
        "published_source": "jsonld",
        "date_candidates": json.dumps([{"source": "jsonld", "value": "2024-04-30T22:00:00"}]),
        "language_confidence": 0.97,
        "extractor": "trafilatura",
    }


def insert_feed_rows(connection: duckdb.DuckDBPyConnection) -> None:
    """A feed and two of its entries."""
    insert_rows(
        connection,
        "feeds",
        [
            {
                "feed_url": FEED,
                "name": "Example News",
                "added_at": SEEN,
                "etag": '"abc"',
                "html_url": "https://news.example/",
            }
        ],
    )
    insert_rows(
        connection,
        "entries",
        [
            {
                "feed_url": FEED,
                "guid": f"g{n}",
                "link": f"https://news.example/story/{n}",
                "title": f"Story {n}",
                "published_at": PUBLISHED,
                "first_seen_at": SEEN,
                "run_id": RUN_ID,
            }
            for n in (1, 2)
        ],
    )


def insert_run_rows(connection: duckdb.DuckDBPyConnection) -> None:
    """A finished run and two failures of it."""
    insert_rows(
        connection,
        "runs",
        [
            {
                "run_id": RUN_ID,
                "flow": "ingest",
                "params": json.dumps({"db": "data/news.duckdb"}),
                "started_at": SEEN,
                "finished_at": SEEN,
                "status": "completed",
                "counts": json.dumps({"articles": 2}),
                "failures": "{}",
            }
        ],
    )
    insert_rows(
        connection,
        "failures",
        [
            {
                "run_id": RUN_ID,
                "stage": "fetch",
                "url": f"https://news.example/broken/{n}",
                "feed_url": FEED,
                "reason": "http_404",
                "detail": "Not Found",
                "retry": json.dumps({"guid": f"b{n}"}),
                "failed_at": SEEN,
            }
            for n in (1, 2)
        ],
    )


def insert_article_rows(connection: duckdb.DuckDBPyConnection, extra: int) -> None:
    """Two detailed articles with topics and refs, then `extra` synthetic ones in bulk."""
    insert_rows(connection, "articles", [article_row(1), article_row(2)])
    insert_rows(
        connection,
        "topics",
        [
            {
                "topic_id": "syria",
                "label": "Syria",
                "kind": "country",
                "parents": ["middle-east"],
                "taxonomy_version": "v1",
            }
        ],
    )
    insert_rows(
        connection,
        "article_topics",
        [
            {
                "article_id": f"a{n:06d}",
                "topic_id": "syria",
                "score": 0.5 * n,
                "evidence": json.dumps({"forms": {"Syria": n}, "first": 10}),
                "taxonomy_version": "v1",
            }
            for n in (1, 2)
        ],
    )
    insert_rows(
        connection,
        "article_refs",
        [
            {
                "article_id": "a000001",
                "feed_url": FEED,
                "guid": "g1",
                "url": "https://news.example/story/1",
                "seen_at": SEEN,
            }
        ],
    )
    if extra:
        connection.execute(
            "INSERT INTO articles (article_id, canonical_url, url, final_url, feed_url, source, title, published_at, "
            "language, text, word_count, content_hash, categories, first_seen_at, updated_at, extractor_version, "
            "cleaner_version, run_id) "
            "SELECT printf('b%07d', i), printf('https://bulk.example/%d', i), printf('https://bulk.example/%d', i), "
            "printf('https://bulk.example/%d', i), ?, 'bulk.example', printf('Bulk story %d', i), "
            "TIMESTAMP '2024-01-01' + to_minutes(i::BIGINT), 'en', repeat('Word salad of a bulk article. ', 40), 240, "
            "md5(i::VARCHAR), ['bulk'], TIMESTAMP '2024-01-01' + to_minutes(i::BIGINT), TIMESTAMP '2024-01-02', 'x1', "
            "'c1', ? FROM range(?) AS t(i)",
            [FEED, RUN_ID, extra],
        )


def insert_page_rows(connection: duckdb.DuckDBPyConnection, pages_dir: Path, version: int) -> str | None:
    """One page with its body inline and, from schema 6, one in a real page file; return that file's name."""
    page = {
        "final_url": "https://news.example/story/1",
        "status": 200,
        "content_type": "text/html",
        "fetched_at": SEEN,
        "run_id": RUN_ID,
    }
    inline = {
        **page,
        "url": "https://news.example/story/1",
        "body_compressed": zlib.compress(INLINE_BODY),
        "body_zlib": zlib.compress(INLINE_BODY),
        "body_codec": "zlib",
        "body_bytes": len(INLINE_BODY),
        "body_hash": "inline-hash",
    }
    insert_rows(connection, "raw_pages", [inline])
    if version < 6:
        return None
    in_file = {
        **page,
        "url": "https://news.example/story/2",
        "final_url": "https://news.example/story/2",
        "body_compressed": zlib.compress(FILE_BODY),
        "body_codec": "zlib",
        "body_bytes": len(FILE_BODY),
        "body_hash": "file-hash",
    }
    name = write_page_file(pages_dir, RUN_ID, [in_file])
    insert_rows(connection, "raw_pages", [{**in_file, "body_compressed": None, "body_file": name}])
    return name


def build_single_file_warehouse(path: Path, version: int = 10, extra_articles: int = 0) -> OldWarehouse:
    """Build a single-file warehouse of schema `version` (1-10) at `path`, with rows in its main tables."""
    pages_dir = path.with_name(path.stem + ".pages")
    with contextlib.closing(duckdb.connect(str(path))) as connection:
        apply_single_file_migrations(connection, version)
        insert_feed_rows(connection)
        insert_run_rows(connection)
        insert_article_rows(connection, extra_articles)
        page_file = insert_page_rows(connection, pages_dir, version)
        connection.execute("CHECKPOINT")
    return OldWarehouse(
        path=path,
        version=version,
        pages_dir=pages_dir,
        page_file=page_file,
        inline_url="https://news.example/story/1",
        file_url="https://news.example/story/2" if page_file else None,
        articles=2 + extra_articles,
    )
