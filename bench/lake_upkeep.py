"""Queries stay fast after months of 15-minute runs: a lake of many small commits, before and after `maintain`.

Run: .venv/bin/python bench/lake_upkeep.py [--commits 3000] [--rows 20] [--retention-days 7]
Makes --commits small commits, each a simulated 15-minute run of --rows articles into three article-shaped
tables (articles, article_refs, article_topics with two topics per article), dates the snapshots 15 minutes
apart ending now (3,000 runs: a month), then times a day-count query (median of 5, each on a new read-only
connection, attach excluded), runs the maintenance pass of `newsdesk maintain` (flows.maintain, without Prefect)
and times the query again. Prints a last line `lake_upkeep: commits=N files_before=A files_after=B
query_ms_before=X query_ms_after=Y maintain_s=S`.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.maintain import maintain_warehouse  # noqa: E402
from warehouse.db import close_shared  # noqa: E402
from warehouse.lake import open_lake  # noqa: E402
from warehouse.location import lake_settings_for  # noqa: E402

RUN_MINUTES = 15
TABLES = (
    "CREATE TABLE articles (article_id VARCHAR, url VARCHAR, source VARCHAR, title VARCHAR, text VARCHAR, "
    "published_at TIMESTAMP, first_seen_at TIMESTAMP, run_id VARCHAR)",
    "CREATE TABLE article_refs (article_id VARCHAR, feed_url VARCHAR, guid VARCHAR, url VARCHAR, "
    "seen_at TIMESTAMP)",
    "CREATE TABLE article_topics (article_id VARCHAR, topic_id VARCHAR, score DOUBLE, taxonomy_version VARCHAR)",
)
# One run's rows; $run is the run's number, $at its time, $rows how many articles it found.
RUN_INSERTS = (
    "INSERT INTO articles SELECT 'r' || $run || '-' || range, 'https://outlet' || (range % 7) || '.example/n/' "
    "|| $run || '/' || range, 'outlet' || (range % 7) || '.example', 'Headline ' || range, "
    "repeat('Paragraph about the council budget. ', 40), $at - INTERVAL (range) MINUTE, $at, 'run-' || $run "
    "FROM range($rows)",
    "INSERT INTO article_refs SELECT 'r' || $run || '-' || range, 'https://outlet' || (range % 7) || "
    "'.example/feed.xml', 'guid-' || $run || '-' || range, 'https://outlet.example/' || range, $at FROM range($rows)",
    "INSERT INTO article_topics SELECT 'r' || $run || '-' || (range // 2), 'topic-' || (range % 11), 0.5, 'v1' "
    "FROM range($rows * 2)",
)
DAY_COUNT = "SELECT CAST(published_at AS DATE) AS day, count(*) FROM articles GROUP BY day ORDER BY day"
QUERY_REPEATS = 5


def fill_lake(db: Path, commits: int, rows: int) -> None:
    """Create the tables and make `commits` runs of `rows` articles, each one commit."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with contextlib.closing(open_lake(lake_settings_for(db))) as connection:
        for statement in TABLES:
            connection.execute(statement)
        for run in range(commits):
            at = now - timedelta(minutes=(commits - run) * RUN_MINUTES)
            connection.execute("BEGIN")
            for statement in RUN_INSERTS:
                params = {"run": run, "at": at, "rows": rows}
                connection.execute(
                    statement, {name: params[name] for name in params if f"${name}" in statement}
                )
            connection.execute("COMMIT")


def spread_snapshots(db: Path) -> None:
    """Date the snapshots RUN_MINUTES apart, the last one now, as a month of scheduled runs would leave them."""
    catalog_file = lake_settings_for(db).catalog_path
    with contextlib.closing(sqlite3.connect(catalog_file)) as catalog, catalog:
        catalog.execute(
            "UPDATE ducklake_snapshot SET snapshot_time = strftime('%Y-%m-%d %H:%M:%S', 'now', "
            "printf('-%d minutes', ((SELECT max(snapshot_id) FROM ducklake_snapshot) - snapshot_id) * ?)) || '+00'",
            [RUN_MINUTES],
        )


def time_query(db: Path) -> tuple[float, int]:
    """The median milliseconds of the day-count query, each on a new read-only connection; and its days."""
    timings, days = [], 0
    for _ in range(QUERY_REPEATS):
        with contextlib.closing(open_lake(lake_settings_for(db), read_only=True)) as connection:
            started = time.perf_counter()
            days = len(connection.execute(DAY_COUNT).fetchall())
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), days


def main() -> None:
    """Measure and print the lake_upkeep line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--retention-days", type=float, default=7.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lake_upkeep_") as folder:
        db = Path(folder) / "news.duckdb"
        started = time.perf_counter()
        fill_lake(db, args.commits, args.rows)
        print(
            f"filled: {args.commits} commits of {args.rows} articles in {time.perf_counter() - started:.0f} s"
        )
        spread_snapshots(db)
        query_before, days = time_query(db)
        counts = maintain_warehouse(db, args.retention_days)
        close_shared()
        query_after, days_after = time_query(db)
        assert days_after == days, "the pass changed what the query answers"
        print(
            f"{days} days; snapshots expired {counts['snapshots_expired']}, files deleted "
            f"{counts['files_deleted']}, bytes stored {counts['bytes_before']:,} -> {counts['bytes_after']:,}"
        )
        print(
            f"lake_upkeep: commits={args.commits} files_before={counts['live_files_before']} "
            f"files_after={counts['live_files_after']} query_ms_before={query_before:.1f} "
            f"query_ms_after={query_after:.1f} maintain_s={counts['upkeep_seconds']:.1f}"
        )


if __name__ == "__main__":
    main()
