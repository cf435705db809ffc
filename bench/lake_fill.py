"""A synthetic warehouse of N stored articles, bulk-inserted by SQL into every lake table an ingest run reads.

Each stored article i gets what a real ingest leaves behind: its articles and article_keys rows, its feed entry
and reference, its raw page and page fetch, its MinHash signature and 32 LSH band rows, two topic tags and its
search document; one article in 33 is marked a duplicate. They are dated `per_day` a day, the newest at `end`
(as a desk that has run that long), and written in date order, `CHUNK` articles per transaction (one set of
Parquet files each, as a maintained lake's merged files). Search postings are left out: the load only appends to
them, and queries, which read them, are `bench/search_scale.py`'s. Feeds are left out too: a stored feed would be
polled by the measured run.

article_signatures is written in row groups of 16,384 rows, the option `apply_migrations` sets on every lake
(warehouse/migrate.py TABLE_OPTIONS): at DuckDB's default (122,880 rows, 63 MB of 512-byte MinHash blobs) the
load's signature reads fail under its 64 MB memory limit.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from pathlib import Path

import duckdb

from transforms.near_dupes import DEFAULT_BANDS, MINHASH_VERSION
from warehouse.db import close_shared, open_warehouse, run_transaction
from warehouse.migrate import apply_migrations

CHUNK = 250_000
FILL_MEMORY_LIMIT = "4GB"
DEFAULT_PER_DAY = 2_000
DEFAULT_END = datetime(2024, 6, 2)  # the bench site's feeds date their items 1 June 2024
TEXT_FILLER = "Officials said the talks would resume next week after the council met again. "

# $first/$count: the chunk's article numbers; $end/$step_s: article i is dated end - (total - 1 - i) * step_s.
STORED = """
CREATE OR REPLACE TEMP TABLE stored AS
SELECT i, md5('stored-' || i) AS article_id, 'stored' || (i % 400) || '.example' AS source,
    'https://stored' || (i % 400) || '.example/news/' || i || '.html' AS url,
    'https://stored' || (i % 400) || '.example/feed.xml' AS feed_url,
    $end::TIMESTAMP - to_seconds(($total - 1 - i) * $step_s) AS dated_at
FROM range($first, $first + $count) AS r(i)
"""
FILL_TABLES = (
    """INSERT INTO articles (article_id, canonical_url, url, final_url, feed_url, source, title, byline,
        published_at, language, text, word_count, content_hash, categories, first_seen_at, updated_at,
        extractor_version, cleaner_version, run_id, published_source, language_source, extractor)
    SELECT article_id, url, url, url, feed_url, source, 'Stored story ' || i, NULL, dated_at, 'en',
        'Stored report ' || i || '. ' || repeat($filler, 8), 110, md5('content-' || i), [], dated_at, dated_at,
        'bench', 'bench', 'bench-fill', 'meta', 'detected', 'trafilatura'
    FROM stored ORDER BY dated_at""",
    """INSERT INTO entries (feed_url, guid, link, title, summary, published_at, first_seen_at, run_id)
    SELECT feed_url, 'stored-' || i, url, 'Stored story ' || i, NULL, dated_at, dated_at, 'bench-fill'
    FROM stored ORDER BY dated_at""",
    """INSERT INTO article_refs (article_id, feed_url, guid, url, seen_at)
    SELECT article_id, feed_url, 'stored-' || i, url, dated_at FROM stored ORDER BY dated_at""",
    """INSERT INTO raw_pages (url, final_url, status, content_type, fetched_at, body_compressed, body_bytes,
        body_hash, run_id, body_codec, body_file)
    SELECT url, url, 200, 'text/html', dated_at, NULL, 48000, md5('page-' || i), 'bench-fill', 'zstd',
        'fill/' || (i // 500) || '.pages'
    FROM stored ORDER BY dated_at""",
    """INSERT INTO fetches (run_id, url, kind, status, bytes, elapsed_ms, final_url, error_class, error,
        fetched_at)
    SELECT 'bench-fill', url, 'page', 200, 48000, 40.0, url, NULL, NULL, dated_at FROM stored ORDER BY dated_at""",
    """INSERT INTO article_signatures (article_id, cluster_id, dated_at, published_at, text_chars, content_hash,
        source, wire_credit, minhash, minhash_version, signed_at)
    SELECT article_id, article_id, dated_at, dated_at, 900, md5('content-' || i), source, NULL,
        encode(md5(article_id) || repeat('m', 480)), $version, dated_at
    FROM stored ORDER BY dated_at""",
    """INSERT INTO article_bands (band_hash, band, article_id, dated_at)
    SELECT (hash(i, b) >> 1)::BIGINT, b, article_id, dated_at
    FROM stored, range($bands) AS t(b) ORDER BY dated_at, article_id, b""",
    """INSERT INTO article_topics (article_id, topic_id, score, evidence, taxonomy_version)
    SELECT article_id, 'topic-' || ((i * k + k) % 60), 0.5, NULL, 'bench'
    FROM stored, range(1, 3) AS t(k) ORDER BY dated_at""",
    """INSERT INTO search_documents (doc_id, article_id, fingerprint, dated_at, first_seen_at, body_terms,
        title_terms, indexed_at)
    SELECT (greatest(epoch_ms(dated_at) // 60000, 0)::UBIGINT << 38) | (hash(article_id) & 274877906943::UBIGINT),
        article_id, md5('fingerprint-' || i), dated_at, dated_at, 300, 3, dated_at
    FROM stored ORDER BY dated_at""",  # doc ids ordered by first sight, as search_doc_id makes them
    """INSERT INTO article_keys (id_key, url_key, text_key)
    SELECT md5_number_upper(article_id), md5_number_upper(url), md5_number_upper(md5('content-' || i))
    FROM stored ORDER BY dated_at""",
    """INSERT INTO duplicates (article_id, duplicate_of, similarity, method, url, detected_at, run_id)
    SELECT article_id, md5('stored-' || (i - 1)), 1.0, 'content_hash', url, dated_at, 'bench-fill'
    FROM stored WHERE i % 33 = 32 ORDER BY dated_at""",
)
SEARCH_STATS = """INSERT INTO search_stats
SELECT $end::TIMESTAMP, count(*), sum(body_terms), sum(title_terms) FROM search_documents"""


def bind(statement: str, params: dict[str, object]) -> tuple[str, dict[str, object]]:
    """A statement with only the parameters it names (DuckDB refuses unused ones)."""
    return statement, {name: value for name, value in params.items() if f"${name}" in statement}


def fill_chunk(connection: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    """Insert one chunk of stored articles into every table, inside the caller's transaction."""
    connection.execute(*bind(STORED, params))
    for statement in FILL_TABLES:
        connection.execute(*bind(statement, params))


def fill_lake(
    db: str | Path, stored: int, per_day: int = DEFAULT_PER_DAY, end: datetime = DEFAULT_END
) -> float:
    """Create the lake `db` names, holding `stored` synthetic articles; return the seconds it took."""
    started = time.perf_counter()
    with contextlib.closing(open_warehouse(db)) as connection:
        connection.execute(f"SET memory_limit = '{FILL_MEMORY_LIMIT}'")
        apply_migrations(connection)
        params: dict[str, object] = {
            "total": stored,
            "end": end,
            "step_s": max(1, round(86_400 / per_day)),
            "filler": TEXT_FILLER,
            "version": MINHASH_VERSION,
            "bands": DEFAULT_BANDS,
        }
        for first in range(0, stored, CHUNK):
            chunk = {**params, "first": first, "count": min(CHUNK, stored - first)}
            run_transaction(connection, lambda session, chunk=chunk: fill_chunk(session, chunk))
        connection.execute(*bind(SEARCH_STATS, params))
    close_shared()
    return time.perf_counter() - started
