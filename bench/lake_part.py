"""`make bench`'s lake part: run cost as the warehouse grows, reader lag, and search latency, in one run.

- run cost (bench/run_cost.py): real ingest runs of 500 new pages into lakes of 10,000 and 1,000,000 stored
  articles; `run_cost_growth` is the ratio of their median warehouse seconds;
- reader lag (bench/reader_lag.py): commit → a separate reader process sees it, median of 20 commits;
- search (bench/search_scale.py, in a child): BM25 query p50 over a synthetic lake of 100,000 articles.
`--quick` (the test smoke) takes small sizes throughout.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.e2e import child_environment
from bench.reader_lag import measure_reader_lag
from bench.run_cost import RunCost, measure_run_cost

SEARCH_BENCH = Path(__file__).resolve().parent / "search_scale.py"
SEARCH_P50 = re.compile(r"query_p50_ms=(\d+(?:\.\d+)?)")
SEARCH_TIMEOUT_S = 1800


@dataclass(frozen=True)
class LakeSizes:
    """How big each lake figure's warehouse is."""

    run_cost_sizes: tuple[int, ...]
    run_cost_pages: int
    lag_stored: int
    lag_commits: int
    search_articles: int
    search_batches: int


FULL = LakeSizes((10_000, 1_000_000), 500, 10_000, 20, 100_000, 3)
QUICK = LakeSizes((1_000, 10_000), 50, 1_000, 5, 2_000, 1)


@dataclass
class LakeFigures:
    """What the lake part measured."""

    sizes: LakeSizes
    run_cost: RunCost | None = None
    reader_lag_s: list[float] | None = None
    search_ms: float = float("nan")
    search_line: str = ""


def measure_search(work: Path, articles: int, batches: int, repeats: int) -> tuple[float, str]:
    """Query p50 ms of bench/search_scale.py at `articles`, run in a child; NaN and why when it cannot run."""
    if not SEARCH_BENCH.exists():
        return float("nan"), "bench/search_scale.py is absent"
    command = [sys.executable, "-m", "bench.search_scale", "--articles", str(articles)]
    command += ["--batches", str(batches), "--repeats", str(repeats)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=SEARCH_TIMEOUT_S,
            cwd=SEARCH_BENCH.parents[1],
            env=child_environment(work / "prefect"),
        )
    except subprocess.TimeoutExpired:
        return float("nan"), f"search_scale did not finish within {SEARCH_TIMEOUT_S} s"
    lines = done.stdout.strip().splitlines()
    match = SEARCH_P50.search(lines[-1]) if done.returncode == 0 and lines else None
    if match is None:
        return float("nan"), f"search_scale failed: {done.stderr.strip()[-300:]}"
    return float(match.group(1)), lines[-1]


def run_lake_part(work: Path, quick: bool, runs: int, workers: int) -> LakeFigures:
    """Measure the three lake figures, printing each as it comes."""
    figures = LakeFigures(QUICK if quick else FULL)
    sizes = figures.sizes
    folder = work / "lake"
    folder.mkdir(parents=True, exist_ok=True)
    figures.run_cost = measure_run_cost(folder, sizes.run_cost_sizes, sizes.run_cost_pages, runs, workers)
    print(figures.run_cost.describe())
    print(f"  run cost growth: {figures.run_cost.ratio():.2f}")
    figures.reader_lag_s = measure_reader_lag(folder, sizes.lag_stored, sizes.lag_commits)
    lags = figures.reader_lag_s
    print(f"  reader lag: median {statistics.median(lags):.3f} s, worst {max(lags):.3f} s")
    figures.search_ms, figures.search_line = measure_search(
        work, sizes.search_articles, sizes.search_batches, 1 if quick else 3
    )
    print(f"  search: {figures.search_line}")
    return figures
