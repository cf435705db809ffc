"""Reader lag: from a batch's commit to a separate reader process seeing it, on the warehouse's lake.

Run: .venv/bin/python -m bench.reader_lag [--stored 10000] [--commits 20] [--batch 500]
A lake of --stored synthetic articles (bench/lake_fill.py); a reader process keeps one read-only connection
(`open_warehouse(db, read_only=True)`) and polls `SELECT max(article_id) FROM articles` every 2 ms; this process
commits --commits batches of --batch article rows, each in one transaction through `write_session` and
`run_transaction` (as a load does), 0.3 s apart, noting when each COMMIT returned. The lag of a batch is when
the reader first saw its last article id minus that moment (one host, one clock). Last line:
`reader_lag: stored=N commits=C lag_s=median lag_max_s=worst`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from bench.lake_fill import fill_lake
from bench.warehouses import remove_warehouse
from warehouse.db import close_shared, open_warehouse, run_transaction, write_session

POLL_S = 0.002
PAUSE_S = 0.3
CHILD_TIMEOUT_S = 300
NEWEST = "SELECT coalesce(max(article_id), '') FROM articles WHERE article_id LIKE 'lag-%'"


def batch_rows(number: int, size: int) -> pa.Table:
    """One batch of article rows whose ids sort after every earlier batch's: lag-<batch>-<row>."""
    ids = [f"lag-{number:06d}-{row:04d}" for row in range(size)]
    now = pa.array([datetime.now(UTC).replace(tzinfo=None)] * size, pa.timestamp("us"))
    return pa.table(
        {
            "article_id": ids,
            "canonical_url": [f"https://lag.example/{i}" for i in ids],
            "url": [f"https://lag.example/{i}" for i in ids],
            "final_url": [f"https://lag.example/{i}" for i in ids],
            "source": ["lag.example"] * size,
            "text": [
                f"Report {i}. " + "The council met again on Monday to vote on the budget. " * 25 for i in ids
            ],
            "word_count": pa.array([260] * size, pa.int32()),
            "content_hash": ids,
            "first_seen_at": now,
            "updated_at": now,
            "extractor_version": ["bench"] * size,
            "cleaner_version": ["bench"] * size,
            "run_id": [f"lag-{number}"] * size,
        }
    )


def insert_batch(connection: duckdb.DuckDBPyConnection, rows: pa.Table) -> None:
    """Append one batch to `articles` (inside the caller's transaction)."""
    connection.register("lag_rows", rows)
    try:
        connection.execute(f"INSERT INTO articles ({', '.join(rows.column_names)}) SELECT * FROM lag_rows")
    finally:
        connection.unregister("lag_rows")


def read_until(db: str, last_id: str) -> dict[str, float]:
    """The reader's work: poll the newest lag id until `last_id` shows; when each id was first seen."""
    seen: dict[str, float] = {}
    with contextlib.closing(open_warehouse(db, read_only=True)) as connection:
        print(json.dumps({"ready": True}), flush=True)
        newest = ""
        while newest < last_id:
            newest = connection.execute(NEWEST).fetchone()[0]
            seen.setdefault(newest, time.time())
            time.sleep(POLL_S)
    return seen


def start_reader(db: Path, last_id: str) -> subprocess.Popen:
    """Start the reader process and wait until its connection is open."""
    command = [sys.executable, "-m", "bench.reader_lag", "--read", str(db), last_id]
    repo = Path(__file__).resolve().parents[1]
    reader = subprocess.Popen(command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not reader.stdout.readline():
        raise RuntimeError(f"reader process failed: {reader.communicate(timeout=30)[1][-2000:]}")
    return reader


def commit_batches(db: Path, commits: int, size: int) -> dict[str, float]:
    """Commit `commits` batches, PAUSE_S apart; when each batch's COMMIT returned, by its last id."""
    committed = {}
    for number in range(commits):
        rows = batch_rows(number, size)
        with write_session(db) as connection:
            run_transaction(connection, lambda session, rows=rows: insert_batch(session, rows))
        committed[rows["article_id"][-1].as_py()] = time.time()
        time.sleep(PAUSE_S)
    return committed


def measure_reader_lag(work: Path, stored: int = 10_000, commits: int = 20, size: int = 500) -> list[float]:
    """Seconds from each batch's commit to the reader process seeing it, over a lake of `stored` articles."""
    db = work / "lag.duckdb"
    fill_lake(db, stored)
    last_id = f"lag-{commits - 1:06d}-{size - 1:04d}"
    reader = start_reader(db, last_id)
    try:
        committed = commit_batches(db, commits, size)
        stdout, stderr = reader.communicate(timeout=CHILD_TIMEOUT_S)
    finally:
        if reader.poll() is None:
            reader.kill()
        close_shared()
        remove_warehouse(db)
    if reader.returncode != 0:
        raise RuntimeError(f"reader process failed: {stderr[-2000:]}")
    seen = json.loads(stdout.strip().splitlines()[-1])
    missing = [key for key in committed if key not in seen]
    if missing:  # the reader skipped a batch: it saw a later one first, so that one's lag is unknown
        print(f"  reader lag: {len(missing)} of {commits} batches seen only with a later one")
    return [seen[key] - at for key, at in committed.items() if key in seen]


def main() -> None:
    """Measure and print the reader_lag line (or, with --read, be the reader process)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=20)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--read", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        print(json.dumps(read_until(*args.read)))
        return
    with tempfile.TemporaryDirectory(prefix="reader-lag-") as work:
        lags = measure_reader_lag(Path(work), args.stored, args.commits, args.batch)
    print(
        f"reader_lag: stored={args.stored} commits={args.commits} batch={args.batch} "
        f"lag_s={statistics.median(lags):.3f} lag_max_s={max(lags):.3f}"
    )


if __name__ == "__main__":
    main()
