"""Search over the lake's postings at scale: index update cost per 500-article batch and BM25 query latency.

Run: .venv/bin/python -m bench.search_scale --articles 100000 [--batches 10] [--repeats 3] [--scratch DIR]
Builds a lake of --articles synthetic articles in a temporary folder under --scratch (deleted after): articles of
~3.5 KB drawn from a 200,000-word vocabulary with a Zipf-like (1/rank) distribution plus ~45 % stop words.
The fill is bulk SQL, its postings drawn from the same distribution (~300 content words per article, as
index_articles would give for such a text) rather than tokenised article by article, and written in chunks
sorted by term, as a maintained lake's merged files are. Then --batches batches of 500 articles (450 new, 50
changed) go through index_articles, each in its own transaction (median seconds, commit included), and ~20
fixed queries of 1-3 words (some with a topic or date filter) through search_articles, --repeats times after
a warm-up pass (p50/p95). Last line: `search: articles=N update_s_per_500=U query_p50_ms=P query_p95_ms=Q`.
To fill a large lake once and measure it several times: --keep DIR fills DIR and stops; --reuse DIR measures on
a copy of it (data files hard-linked, catalog copied; --scratch on the same file system).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.lake import LakeSettings, open_lake, write_with_retry
from warehouse.migrate import apply_migrations
from warehouse.postings import index_articles, install_search_macros
from warehouse.ranking import fetch_hit_articles, rank_articles
from warehouse.search import resolve_topic, search_articles

VOCABULARY = 200_000
CORPUS_WORDS = 3_000_000  # the text every article's is cut from
STOP_SHARE = 0.45  # share of stop words in running English text
CONTENT_WORDS = 300  # words per article left after stop words
TITLE_WORDS = 8
TEXT_CHARS = 3_500
CHUNK = 100_000  # articles per fill statement (one sorted set of files each)
BATCH = 500
CHANGED_PER_BATCH = 50
TOPICS = 40
CATALOG = "bench.lake.sqlite"
STOP_WORDS = "['the','of','and','to','in','a','is','that','for','on','with','as','was','by','at','from']"
SYLLABLES = (  # 14 consonants x 5 vowels
    "list_transform(range(70), x -> split('b d f g k l m n p r s t v z', ' ')[x // 5 + 1] || "
    "split('a e i o u', ' ')[x % 5 + 1])"
)
# Query words by their frequency rank: common, middling and rare; some queries filtered by topic or date.
QUERIES = [
    ([5], None, None),
    ([40], None, None),
    ([300], None, None),
    ([2_000], None, None),
    ([15_000], None, None),
    ([90_000], None, None),
    ([7, 60], None, None),
    ([25, 900], None, None),
    ([150, 4_000], None, None),
    ([1_200, 30_000], None, None),
    ([9, 3, 400], None, None),
    ([80, 700, 6_000], None, None),
    ([500, 12_000, 50_000], None, None),
    ([11, 2_500, 160_000], None, None),
    ([33, 333], None, None),
    ([3_000, 9_000], None, None),
    ([20, 1_500], "topic7", None),
    ([250], "topic3", None),
    ([45, 5_000], None, datetime(2025, 6, 1)),
    ([120], None, datetime(2025, 10, 1)),
]


def make_vocabulary(connection: duckdb.DuckDBPyConnection) -> None:
    """Temp table vocab(rank, word, term): distinct made-up words of two or three syllables, and their stems."""
    connection.execute(
        f"""CREATE OR REPLACE TEMP TABLE vocab AS
        SELECT rank, word, search_stem(word) AS term FROM (
            SELECT i + 1 AS rank,
                s[i % 70 + 1] || s[(i // 70) % 70 + 1] || CASE WHEN i >= 4900 THEN s[(i // 4900) % 70 + 1]
                ELSE '' END AS word
            FROM range({VOCABULARY}) AS r(i), (SELECT {SYLLABLES} AS s)
        )"""
    )


def make_corpus(connection: duckdb.DuckDBPyConnection) -> None:
    """Temp table corpus(body): one long text of Zipf-drawn words and stop words that articles are cut from."""
    connection.execute(
        f"""CREATE OR REPLACE TEMP TABLE corpus AS
        SELECT string_agg(CASE WHEN stop THEN {STOP_WORDS}[1 + (rank % 16)] ELSE v.word END, ' ' ORDER BY i)
            AS body
        FROM (SELECT i, random() < {STOP_SHARE} AS stop, floor(pow({VOCABULARY}, random()))::BIGINT AS rank
              FROM range({CORPUS_WORDS}) AS r(i)) AS d
        JOIN vocab AS v USING (rank)"""
    )


def article_select(first: int, count: int, text_seed: str, spacing_s: int) -> str:
    """SELECT of `count` articles numbered from `first`, first seen `spacing_s` apart in that order (as a lake
    appends them): every NOT NULL column, the text cut from the corpus."""
    seen = f"TIMESTAMP '2024-01-01' + to_seconds(i * {spacing_s})"
    return f"""SELECT
        md5(i::VARCHAR) AS article_id, 'https://example.org/' || i AS canonical_url,
        'https://example.org/' || i AS url, 'https://example.org/' || i AS final_url,
        'source' || (i % 200) AS source,
        substr(c.body, 1 + (hash(i, 'title', '{text_seed}') % 1000000)::BIGINT, 60) AS title,
        {seen} - to_seconds((hash(i, 'date') % 86400)::BIGINT) AS published_at,
        substr(c.body, 1 + (hash(i, '{text_seed}') % (length(c.body) - {TEXT_CHARS}))::BIGINT, {TEXT_CHARS})
            AS text,
        600 AS word_count, md5(i::VARCHAR || '{text_seed}') AS content_hash,
        {seen} AS first_seen_at, now()::TIMESTAMP AS updated_at,
        'bench' AS extractor_version, 'bench' AS cleaner_version, 'bench' AS run_id
    FROM range({first}, {first + count}) AS r(i), corpus AS c"""


ARTICLE_COLUMNS = (
    "article_id, canonical_url, url, final_url, source, title, published_at, text, word_count, content_hash, "
    "first_seen_at, updated_at, extractor_version, cleaner_version, run_id"
)


def fill_chunk(connection: duckdb.DuckDBPyConnection, first: int, count: int, spacing_s: int) -> None:
    """Articles, their documents and postings (drawn, not tokenised), topics and some duplicates."""
    connection.execute(
        f"INSERT INTO articles ({ARTICLE_COLUMNS}) {article_select(first, count, 'fill', spacing_s)}"
    )
    seen = f"TIMESTAMP '2024-01-01' + to_seconds(i * {spacing_s})"
    doc_id = f"search_doc_id({seen}, hash(i))"  # ordered by first sight, as index_articles makes them
    connection.execute(
        f"""CREATE OR REPLACE TEMP TABLE chunk_postings AS
        SELECT term, doc_id, tf, title_tf, (sum(tf) OVER (PARTITION BY doc_id))::INTEGER AS body_terms,
            (sum(title_tf) OVER (PARTITION BY doc_id))::INTEGER AS title_terms
        FROM (SELECT v.term, {doc_id} AS doc_id, count(*)::INTEGER AS tf,
                (count(*) FILTER (d.in_title))::INTEGER AS title_tf
            FROM (SELECT i, k >= {CONTENT_WORDS} AS in_title,
                    floor(pow({VOCABULARY}, random()))::BIGINT AS rank
                  FROM range({first}, {first + count}) AS r(i), range({CONTENT_WORDS + TITLE_WORDS}) AS w(k)) AS d
            JOIN vocab AS v USING (rank)
            GROUP BY v.term, d.i)"""
    )
    connection.execute("INSERT INTO search_postings SELECT * FROM chunk_postings ORDER BY term, doc_id")
    connection.execute(
        f"""INSERT INTO search_documents
        SELECT doc_id, md5(i::VARCHAR), 'fill', {seen} - to_seconds((hash(i, 'date') % 86400)::BIGINT), {seen},
            body_terms, title_terms, TIMESTAMP '2024-01-01'
        FROM (SELECT doc_id, any_value(body_terms) AS body_terms, any_value(title_terms) AS title_terms
              FROM chunk_postings GROUP BY doc_id) AS l
        JOIN (SELECT i, {doc_id} AS doc_id FROM range({first}, {first + count}) AS r(i)) USING (doc_id)
        ORDER BY doc_id"""
    )
    connection.execute(
        f"""INSERT INTO article_topics SELECT md5(i::VARCHAR), 'topic' || (i % {TOPICS}), 1.0, NULL, 'bench'
        FROM range({first}, {first + count}) AS r(i)"""
    )
    connection.execute(
        f"""INSERT INTO duplicates SELECT md5(i::VARCHAR), md5((i + 1)::VARCHAR), 1.0, 'bench', NULL,
            TIMESTAMP '2024-01-01', 'bench'
        FROM range({first}, {first + count}) AS r(i) WHERE i % 33 = 0"""
    )


def spacing(articles: int) -> int:
    """Seconds between two articles' first sight: the lake spans two years whatever its size."""
    return max(1, 2 * 365 * 86400 // articles)


def fill_lake(connection: duckdb.DuckDBPyConnection, articles: int) -> float:
    """Fill the lake with `articles` indexed articles; return the seconds it took."""
    started = time.perf_counter()
    make_vocabulary(connection)
    make_corpus(connection)
    connection.execute(
        f"INSERT INTO topics SELECT 'topic' || i, 'Topic ' || i, 'subject', [], 'bench' FROM range({TOPICS}) r(i)"
    )
    for first in range(0, articles, CHUNK):
        fill_chunk(connection, first, min(CHUNK, articles - first), spacing(articles))
        print(f"  filled {min(first + CHUNK, articles):,} articles in {time.perf_counter() - started:.0f} s")
    connection.execute(
        "INSERT INTO search_stats SELECT TIMESTAMP '2024-01-01', count(*), sum(body_terms), sum(title_terms) "
        "FROM search_documents"
    )
    connection.execute("DROP TABLE chunk_postings")
    return time.perf_counter() - started


def measure_updates(connection: duckdb.DuckDBPyConnection, articles: int, batches: int) -> list[float]:
    """Seconds to index each of `batches` batches: 450 new articles and 50 changed ones (new text)."""
    timings = []
    for b in range(batches):
        first_new = articles + b * BATCH
        new = BATCH - CHANGED_PER_BATCH
        changed_first = b * 997 % max(articles - CHANGED_PER_BATCH, 1)
        rows = connection.execute(
            f"{article_select(first_new, new, f'v{b}', spacing(articles))} UNION ALL "
            f"{article_select(changed_first, CHANGED_PER_BATCH, f'v{b}', spacing(articles))}"
        ).to_arrow_table()
        connection.register("bench_rows", rows)
        write_with_retry(
            connection, lambda c: c.execute(f"INSERT INTO articles ({ARTICLE_COLUMNS}) FROM bench_rows")
        )
        connection.unregister("bench_rows")
        started = time.perf_counter()
        indexed = write_with_retry(connection, lambda c, rows=rows: index_articles(c, rows))
        timings.append(time.perf_counter() - started)
        assert indexed == BATCH, f"indexed {indexed} of {BATCH}"
    return timings


def query_words(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None, datetime | None]]:
    """The fixed queries as text: the vocabulary's words at the listed ranks."""
    words = dict(connection.execute("SELECT rank, word FROM vocab").fetchall())
    return [(" ".join(words[r] for r in ranks), topic, since) for ranks, topic, since in QUERIES]


def measure_queries(connection: duckdb.DuckDBPyConnection, repeats: int) -> tuple[list[float], int]:
    """Milliseconds of each search_articles call (after one warm-up pass) and how many found nothing."""
    queries = query_words(connection)
    empty = 0
    for text, topic, since in queries:  # warm-up: the first read of each file
        empty += not search_articles(connection, text, topic=topic, since=since, limit=10)
    timings = []
    for _ in range(repeats):
        for text, topic, since in queries:
            started = time.perf_counter()
            search_articles(connection, text, topic=topic, since=since, limit=10)
            timings.append((time.perf_counter() - started) * 1000)
    return timings, empty


def measure_phases(connection: duckdb.DuckDBPyConnection) -> tuple[float, float]:
    """Median milliseconds of a query's ranking (rank_articles) and of its hits' fetch, over one pass."""
    ranking, fetching = [], []
    for text, topic, since in query_words(connection):
        topic_id = resolve_topic(connection, topic)[0] if topic else None
        started = time.perf_counter()
        ranked = rank_articles(connection, text, topic_id, since, 10)
        ranked_at = time.perf_counter()
        fetch_hit_articles(connection, ranked)
        ranking.append((ranked_at - started) * 1000)
        fetching.append((time.perf_counter() - ranked_at) * 1000)
    return statistics.median(ranking), statistics.median(fetching)


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def copy_lake(source: Path, folder: Path) -> None:
    """A lake to measure on from a kept one: its data files linked (DuckLake never rewrites one), its catalog
    copied (the measured batches write to it)."""
    shutil.rmtree(folder)
    shutil.copytree(source, folder, copy_function=os.link)
    for catalog in folder.glob(f"{CATALOG}*"):
        catalog.unlink()
        shutil.copy2(source / catalog.name, catalog)


def prepare_lake(connection: duckdb.DuckDBPyConnection, articles: int, reused: bool) -> None:
    """Fill the lake (or, reused, only make the vocabulary and corpus the batches and queries need)."""
    apply_migrations(connection)
    install_search_macros(connection)
    if reused:
        make_vocabulary(connection)
        make_corpus(connection)
        print(f"reused a lake of {articles:,} articles")
        return
    fill_s = fill_lake(connection, articles)
    postings = connection.execute("SELECT count(*) FROM search_postings").fetchone()[0]
    print(f"fill: {fill_s:.0f} s, {postings:,} postings")


def run(
    articles: int, batches: int, repeats: int, scratch: Path, keep: Path | None, reuse: Path | None
) -> str:
    """Build (or reuse a kept copy of), measure and remove one lake; return the summary line."""
    folder = keep or Path(tempfile.mkdtemp(prefix="search_scale_", dir=scratch))
    if keep:
        keep.mkdir(parents=True)
    try:
        if reuse:
            copy_lake(reuse, folder)
        with open_lake(LakeSettings(catalog_path=str(folder / CATALOG))) as connection:
            prepare_lake(connection, articles, reuse is not None)
            if keep:
                return f"kept a lake of {articles:,} articles in {keep}"
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            print(f"lake {size / 2**30:.2f} GiB")
            updates = measure_updates(connection, articles, batches)
            print("update s per 500:", " ".join(f"{t:.2f}" for t in updates))
            timings, empty = measure_queries(connection, repeats)
            print(f"queries: {len(timings)} timed, {empty} of {len(QUERIES)} found nothing")
            print(
                "query phases, median ms: ranking {:.0f}, hits' fetch {:.0f}".format(
                    *measure_phases(connection)
                )
            )
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return (
        f"search: articles={articles} update_s_per_500={statistics.median(updates):.3f} "
        f"query_p50_ms={percentile(timings, 0.5):.0f} query_p95_ms={percentile(timings, 0.95):.0f}"
    )


def main() -> None:
    """Parse the arguments, run the benchmark, print the summary line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scratch", type=Path, default=Path("/tmp"), help="where the measured lake is made")
    parser.add_argument(
        "--keep", type=Path, help="fill a lake into this new folder, keep it, measure nothing"
    )
    parser.add_argument(
        "--reuse", type=Path, help="measure on a copy of a lake kept by --keep (same --articles)"
    )
    args = parser.parse_args()
    print(run(args.articles, args.batches, args.repeats, args.scratch, args.keep, args.reuse))


if __name__ == "__main__":
    main()
