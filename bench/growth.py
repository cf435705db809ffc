"""Warehouse growth: the per-article cost of dedup + load with few vs many articles already stored.

The stored articles (and their entries, refs and raw pages) are synthetic rows made by DuckDB itself; the new
batches are real Articles built by flows.stages.articles.build_article from small generated pages, so every field the
articles stage adds is there. Only `load_plan` (known-URL lookup, content-hash dedup, one-transaction load) is
timed. When bench/bench_dedup_growth.py (the near-duplicate stage's own growth bench) is present, __main__
runs it as well.
"""

from __future__ import annotations

import hashlib
import random
import statistics
import time
from pathlib import Path

from bench.warehouses import remove_warehouse
from flows.stages.articles import PageJob, PageOutcome, build_articles
from flows.stages.batches import BatchPlan, entry_row, load_plan
from transforms.page_bodies import ZSTD, compress_body
from transforms.records import FeedEntry
from warehouse.db import write_session
from warehouse.load import LoadBatch, now_utc
from warehouse.migrate import apply_migrations

WORD_LIST = (
    "government forces rebels city north province talks ceasefire aid convoy border council minister army "
    "villages market hospital shelling residents report officials week monday statement opposition airstrikes "
    "district river bridge road checkpoint negotiators envoy delegation refugees camp winter supplies fuel"
)
WORDS = tuple(WORD_LIST.split())
SPAN_DAYS = 100.0

# Stored articles are spread evenly over the last $span_s seconds (100 days unless told), as a warehouse that has run
# for a while would hold them; the new batch is dated now, so the near-duplicate window (30 days) holds 30 % of them.
FILL_SQL = """
INSERT INTO articles (article_id, canonical_url, url, final_url, feed_url, source, title, byline, published_at,
    language, text, word_count, content_hash, categories, first_seen_at, updated_at, extractor_version,
    cleaner_version, run_id)
SELECT 'stored-' || i, 'http://stored.example/a/' || i, 'http://stored.example/a/' || i,
    'http://stored.example/a/' || i, 'http://stored.example/feed.xml', 'stored.example', 'Stored story ' || i,
    NULL, now()::TIMESTAMP - to_seconds(i * $span_s // $count), 'en',
    'Stored report ' || i || ' ' || repeat('officials said the talks would resume next week. ', 12),
    75, md5('stored-' || i), [], now()::TIMESTAMP, now()::TIMESTAMP, 'bench', 'bench', 'bench-fill'
FROM range($count) AS t(i);
INSERT INTO article_keys
SELECT md5_number_upper(article_id), md5_number_upper(canonical_url), md5_number_upper(content_hash) FROM articles;
INSERT INTO entries (feed_url, guid, link, title, first_seen_at, run_id)
SELECT 'http://stored.example/feed.xml', 'stored-' || i, 'http://stored.example/a/' || i, 'Stored story ' || i,
    now()::TIMESTAMP, 'bench-fill' FROM range($count) AS t(i);
INSERT INTO article_refs (article_id, feed_url, guid, url, seen_at)
SELECT 'stored-' || i, 'http://stored.example/feed.xml', 'stored-' || i, 'http://stored.example/a/' || i,
    now()::TIMESTAMP FROM range($count) AS t(i);
INSERT INTO raw_pages (url, final_url, status, content_type, fetched_at, body_compressed, body_codec, body_bytes,
    body_hash, run_id)
SELECT 'http://stored.example/a/' || i, 'http://stored.example/a/' || i, 200, 'text/html', now()::TIMESTAMP,
    encode(repeat('x', 64)), 'zstd', 64, md5('page-' || i), 'bench-fill' FROM range($count) AS t(i);
"""

# With the near-duplicate tables present, stored articles get signatures and band hashes that match nothing new.
FILL_SIGNATURES_SQL = """
INSERT INTO article_signatures (article_id, cluster_id, dated_at, published_at, text_chars, content_hash, source,
    minhash, minhash_version, signed_at)
SELECT article_id, article_id, published_at, published_at, length(text), content_hash, source,
    encode(repeat('m', 512)), 'bench', now()::TIMESTAMP FROM articles WHERE run_id = 'bench-fill';
INSERT INTO article_bands (band_hash, band, article_id, dated_at)
SELECT (hash(s.article_id, b.band) >> 1)::BIGINT, b.band, s.article_id, s.dated_at
FROM article_signatures AS s, range($bands) AS b(band) WHERE s.minhash_version = 'bench';
"""


def bands_per_article() -> int:
    """The LSH bands each article stores (transforms.near_dupes), 32 when that module is absent."""
    try:
        from transforms.near_dupes import DEFAULT_BANDS
    except ImportError:
        return 32
    return DEFAULT_BANDS


def fill_warehouse(db_path: Path, stored: int, span_days: float = SPAN_DAYS) -> None:
    """Create a warehouse (a lake) holding `stored` synthetic articles, dated over `span_days`, with entries, refs and pages."""
    with write_session(db_path) as connection:
        apply_migrations(connection)
        for statement in filter(str.strip, FILL_SQL.split(";")):
            params = {"count": stored, "span_s": round(span_days * 86400)}
            connection.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})
        tables = {row[0] for row in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if {"article_signatures", "article_bands"} <= tables:
            for statement in filter(str.strip, FILL_SIGNATURES_SQL.split(";")):
                connection.execute(statement.replace("$bands", str(bands_per_article())))


def make_page(index: int, rng: random.Random) -> bytes:
    """A small article page with generated paragraphs, unique to `index`."""
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(40)) + f" (report {index}-{k}).</p>"
        for k in range(8)
    )
    return (
        f"<html><head><title>New story {index}</title></head><body><article><h1>New story {index}</h1>"
        f"{paragraphs}</article></body></html>"
    ).encode()


def make_batch(first: int, size: int, run_id: str) -> tuple[list[FeedEntry], list[bytes], list[PageOutcome]]:
    """Entries, page bodies and built outcomes for `size` new articles, as the articles stage hands them on."""
    rng = random.Random(first)
    entries, bodies, jobs = [], [], []
    for index in range(first, first + size):
        url = f"http://new.example/a/{index}.html"
        entry = FeedEntry(
            feed_url="http://new.example/feed.xml", guid=f"new-{index}", link=url, title=f"New story {index}"
        )
        entries.append(entry)
        bodies.append(make_page(index, rng))
        jobs.append(
            PageJob(
                url=url,
                final_url=url,
                body=bodies[-1],
                feed_url=entry.feed_url,
                guid=entry.guid,
                entry_title=entry.title,
            )
        )
    return entries, bodies, build_articles(jobs, workers=1)


def make_plan(entries: list[FeedEntry], bodies: list[bytes], run_id: str) -> BatchPlan:
    """A batch plan holding the entry and raw-page rows a fetched batch would carry to the load."""
    seen_at = now_utc()
    plan = BatchPlan(run_id=run_id, load=LoadBatch(run_id=run_id))
    plan.load.entries = [entry_row(entry, run_id, seen_at) for entry in entries]
    for entry, body in zip(entries, bodies, strict=True):
        plan.entries_by_url[entry.link] = [entry]
        plan.load.raw_pages.append(
            {
                "url": entry.link,
                "final_url": entry.link,
                "status": 200,
                "content_type": "text/html",
                "fetched_at": seen_at,
                "body_compressed": compress_body(body),
                "body_codec": ZSTD,
                "body_bytes": len(body),
                "body_hash": hashlib.sha256(body).hexdigest(),
                "run_id": run_id,
            }
        )
    return plan


def measure_growth(
    work: Path, sizes: tuple[int, ...], batch: int = 500, batches: int = 3, span_days: float = SPAN_DAYS
) -> dict[int, float]:
    """Median per-article milliseconds of `load_plan` for new batches, for each count of stored articles.

    A short `span_days` (e.g. 1) puts every stored article inside the near-duplicate window: the worst case of
    the candidate join, which then probes every stored band row.
    """
    prepared = [make_batch(100_000_000 + k * batch, batch, f"bench-growth-{k}") for k in range(batches)]
    costs = {}
    for stored in sizes:
        db_path = work / f"growth-{stored}.duckdb"
        fill_warehouse(db_path, stored, span_days)
        per_article = []
        for k, (entries, bodies, outcomes) in enumerate(prepared):
            plan = make_plan(entries, bodies, f"bench-growth-{k}")
            started = time.perf_counter()
            load_plan(plan, outcomes, db_path)
            per_article.append(1000 * (time.perf_counter() - started) / len(outcomes))
        costs[stored] = statistics.median(per_article)
        remove_warehouse(db_path)
    return costs
