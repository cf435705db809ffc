"""Per-article cost of the near-duplicate step (band join + verification + cluster writes) as the warehouse grows.

Synthetic warehouse: N stored articles with random MinHash signatures (a fifth of them copies of others, so the
join finds real candidates), dated at a steady ingest rate up to the batch's day. Each measured batch holds
`--batch` new articles, 30 % of them copies of stored articles from the last week; it runs in a transaction that
is rolled back, so every repeat sees the same warehouse. Two layouts are measured:

- spread: the store grew at `--per-day` articles a day (and at 300 a day), so the 30-day window holds
  min(N, 30 x per-day) of them; the headline (last line) is the `--per-day` layout;
- crowded: all N stored articles fall inside the window (the worst case: the join then scans every band row).

Usage: .venv/bin/python bench/bench_dedup_growth.py [--per-day 2000] [--batch 500] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from transforms.clusters import NearDupSettings
from transforms.near_dupes import (
    DEFAULT_BANDS,
    DEFAULT_NUM_PERM,
    DEFAULT_ROWS,
    MINHASH_VERSION,
    band_hashes_batch,
    encode_minhash,
)
from warehouse.batch_queries import run_with
from warehouse.db import write_session
from warehouse.migrate import apply_migrations
from warehouse.near_dupes import TS, link_near_duplicates
from warehouse.sql import read_sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: bench/ is not installed
from bench.warehouses import remove_warehouse  # noqa: E402

BATCH_DAY = datetime(2016, 6, 1)
SMALL_DESK_PER_DAY = 300  # a desk following a few dozen feeds: 10k stored already fill the 30-day window


def mutate(signatures: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Copies of signatures with a share of their slots redrawn (estimated Jaccard ~ 1 - share)."""
    copies = signatures.copy()
    mask = rng.random(copies.shape) < share
    copies[mask] = rng.integers(0, 2**32 - 1, size=int(mask.sum()), dtype=np.uint32)
    return copies


def build_store(path: Path, count: int, span_days: float, rng: np.random.Generator) -> np.ndarray:
    """A warehouse (a lake) with `count` signed articles dated over `span_days` before the batch day; returns signatures."""
    signatures = rng.integers(0, 2**32 - 1, size=(count, DEFAULT_NUM_PERM), dtype=np.uint32)
    copies = rng.random(count) < 0.2
    sources = rng.integers(0, count, size=int(copies.sum()))
    signatures[copies] = mutate(signatures[sources], 0.3, rng)
    offsets = np.sort(rng.random(count) * span_days * 86400.0)[::-1]
    dated = [BATCH_DAY - timedelta(seconds=float(s)) for s in offsets]
    ids = [f"{i:016x}" for i in range(count)]
    with write_session(path) as connection:
        apply_migrations(connection)
        signed = pa.table(
            {
                "article_id": ids,
                "cluster_id": ids,
                "dated_at": pa.array(dated, TS),
                "published_at": pa.array(dated, TS),
                "text_chars": pa.array(np.full(count, 3000, dtype=np.int32)),
                "content_hash": ids,
                "source": ["synthetic.example"] * count,
                "wire_credit": pa.nulls(count, pa.string()),
                "minhash": pa.array([encode_minhash(s) for s in signatures], pa.binary()),
                "minhash_version": [MINHASH_VERSION] * count,
                "signed_at": pa.array(dated, TS),
            }
        )
        connection.register("signed", signed)
        connection.execute("INSERT INTO article_signatures SELECT * FROM signed ORDER BY dated_at")
        connection.unregister("signed")
        bands = band_hashes_batch(signatures, DEFAULT_BANDS, DEFAULT_ROWS)
        band_table = pa.table(
            {
                "band_hash": bands.reshape(-1),
                "band": np.tile(np.arange(DEFAULT_BANDS, dtype=np.int16), count),
                "article_id": np.repeat(np.array(ids, dtype=object), DEFAULT_BANDS),
                "dated_at": pa.array(np.repeat(np.array(dated, dtype="datetime64[us]"), DEFAULT_BANDS), TS),
            }
        )
        connection.register("batch_bands", band_table)
        connection.execute(read_sql("insert_article_bands"))
        connection.unregister("batch_bands")
    return signatures


def make_batch(stored: np.ndarray, size: int, recent: int, rng: np.random.Generator, tag: str) -> list[dict]:
    """Article rows of one batch: 30 % copies of recently stored articles, the rest new stories."""
    signatures = rng.integers(0, 2**32 - 1, size=(size, DEFAULT_NUM_PERM), dtype=np.uint32)
    copies = rng.random(size) < 0.3
    sources = rng.integers(len(stored) - recent, len(stored), size=int(copies.sum()))
    signatures[copies] = mutate(stored[sources], 0.2, rng)
    rows = []
    for index, signature in enumerate(signatures):
        article_id = f"b{tag}{index:014x}"
        rows.append(
            {
                "article_id": article_id,
                "url": f"https://batch.example/{article_id}",
                "source": "batch.example",
                "title": None,
                "text": "x" * 2500,
                "content_hash": article_id,
                "published_at": BATCH_DAY - timedelta(minutes=index),
                "first_seen_at": BATCH_DAY,
                "minhash": encode_minhash(signature),
                "wire_credit": None,
            }
        )
    return rows


def time_batches(
    path: Path, stored: np.ndarray, batch: int, repeats: int, recent: int
) -> tuple[float, float]:
    """Median per-article ms of the whole near-duplicate step and of the band join alone."""
    rng = np.random.default_rng(7)
    step_ms, join_ms = [], []
    settings = NearDupSettings()
    with write_session(path) as connection:
        for repeat in range(repeats + 1):  # the first round warms the caches and is not counted
            rows = make_batch(stored, batch, recent, rng, f"{repeat:x}")
            connection.begin()
            started = time.perf_counter()
            link_near_duplicates(connection, rows, "bench", BATCH_DAY, settings=settings)
            elapsed = time.perf_counter() - started
            band_rows = connection.execute(
                "SELECT band_hash, band, article_id, dated_at FROM article_bands WHERE article_id LIKE 'b%'"
            ).to_arrow_table()
            window = timedelta(days=settings.window_days)
            started = time.perf_counter()
            run_with(
                connection,
                {"batch_bands": band_rows},
                read_sql("select_near_duplicate_candidates"),
                {"window_start": BATCH_DAY - 2 * window, "window_end": BATCH_DAY + window, "window": window},
            )
            joined = time.perf_counter() - started
            connection.rollback()
            if repeat:
                step_ms.append(elapsed * 1000 / batch)
                join_ms.append(joined * 1000 / batch)
    return statistics.median(step_ms), statistics.median(join_ms)


def main() -> None:
    """Measure each layout at 10k and 200k stored articles and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=2000, help="ingest rate of the headline spread layout")
    parser.add_argument("--batch", type=int, default=500, help="articles per batch (the ingest default)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    layouts = {
        f"spread {args.per_day}/day": args.per_day,
        f"spread {SMALL_DESK_PER_DAY}/day": SMALL_DESK_PER_DAY,
        "crowded": None,
    }
    results: dict[tuple[str, int], tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for layout, per_day in layouts.items():
            for count in (10_000, 200_000):
                rng = np.random.default_rng(count)
                span_days = count / per_day if per_day else 29.0
                path = Path(folder) / f"store-{count}.duckdb"
                started = time.perf_counter()
                stored = build_store(path, count, span_days, rng)
                built_s = time.perf_counter() - started
                recent = min(count, int(count * 7 / span_days))  # copies come from the last week
                step, join = time_batches(path, stored, args.batch, args.repeats, recent)
                results[(layout, count)] = (step, join)
                in_window = min(count, int(count * 30 / span_days))
                print(
                    f"{layout:16s} stored={count:>7,} span={span_days:6.1f} d in_window={in_window:>7,} "
                    f"built {built_s:4.1f} s  per_article_ms={step:.3f} (band join alone {join:.3f})",
                    flush=True,
                )
                remove_warehouse(path)
    for layout in layouts:
        small, large = results[(layout, 10_000)], results[(layout, 200_000)]
        print(
            f"{layout}: per-article ratio 200k/10k = {large[0] / small[0]:.2f}, band join {large[1] / small[1]:.2f}"
        )
    headline = next(iter(layouts))
    small, large = results[(headline, 10_000)][0], results[(headline, 200_000)][0]
    print(
        f"dedup_growth: per_article_ms_10k={small:.3f} per_article_ms_200k={large:.3f} ratio={large / small:.2f}"
    )


if __name__ == "__main__":
    main()
