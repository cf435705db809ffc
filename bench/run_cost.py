"""Run cost as the warehouse grows: real ingest runs of N new pages into lakes of few vs many stored articles.

Run: .venv/bin/python -m bench.run_cost [--sizes 10000,1000000] [--pages 500] [--repeats 3] [--keep DIR]
Each size's lake is filled by bench/lake_fill.py (every table the run reads, at that many articles); the bench
site (bench/site.py) serves `--repeats` x `--pages` new pages, one feed of `--pages` items per round, and each
round ingests its feed into every lake in turn (a child process each, as `make bench`'s e2e part: bench/e2e.py),
so the host's drift reaches all sizes alike. Timed, in the child (bench/timed_ingest.py): the run's warehouse
seconds, the calls the flow makes on the lake outside the feed poll: opening the run, each batch's known-URL
lookup and load, the drift check and closing the run (the fetch and the article build do not read the
warehouse). The flow's stages (`stage_s_*`) are reported beside it, per size. Before the rounds each lake gets
one opened and closed run (the taxonomy's topics stored, as in a warehouse that has run before). Last line:
`run_cost: sizes=A,B warehouse_s=X,Y ratio=R`, the largest size's median over the smallest's.

`--keep DIR` keeps each size's filled lake in DIR (filled there on the first use) and measures on copies, so a
session fills once; `--capture DIR` makes each child save what every batch load was given (bench/load_replay.py
replays them into copies of kept lakes, statement by statement).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.e2e import run_ingest_child
from bench.lake_fill import fill_lake
from bench.site import SiteServer, build_site, run_server, write_sources
from bench.timed_ingest import CAPTURE_ENV, TIMED
from bench.warehouses import copy_warehouse, measure_lake_bytes, remove_warehouse
from flows.stages.articles import count_workers
from flows.stages.runlog import close_run, open_run
from warehouse.db import close_shared
from warehouse.location import catalog_path_for

STAGES = ("entries", "pages", "articles", "load")  # the flow's stage_s_* counts


@dataclass
class RunCost:
    """The figures of one run-cost measurement, per stored-article count (lists: one value per round)."""

    pages: int
    warehouse_s: dict[int, list[float]] = field(default_factory=dict)
    stage_s: dict[int, dict[str, list[float]]] = field(default_factory=dict)
    loaded: dict[int, list[int]] = field(default_factory=dict)
    peak_pss_mb: dict[int, list[float]] = field(default_factory=dict)
    fill_s: dict[int, float] = field(default_factory=dict)
    lake_mb: dict[int, float] = field(default_factory=dict)

    def median_s(self, stored: int) -> float:
        """The median warehouse seconds of the runs into the lake of `stored` articles."""
        return statistics.median(self.warehouse_s[stored])

    def ratio(self) -> float:
        """The largest lake's median warehouse seconds over the smallest's."""
        sizes = sorted(self.warehouse_s)
        return self.median_s(sizes[-1]) / self.median_s(sizes[0]) if len(sizes) > 1 else float("nan")

    def describe(self) -> str:
        """One line per size: stored articles, fill, warehouse seconds and the other stages (medians)."""
        lines = []
        for stored in sorted(self.warehouse_s):
            stages = ", ".join(
                f"{stage} {statistics.median(values):.2f}" for stage, values in self.stage_s[stored].items()
            )
            lines.append(
                f"{stored:,} stored ({self.lake_mb[stored]:,.0f} MiB, filled in {self.fill_s[stored]:.0f} s): "
                f"warehouse {self.median_s(stored):.2f} s (runs {', '.join(f'{v:.2f}' for v in self.warehouse_s[stored])}); "
                f"seconds: {stages}; loaded {min(self.loaded[stored])}–{max(self.loaded[stored])} articles; "
                f"peak PSS {statistics.median(self.peak_pss_mb[stored]):,.0f} MiB"
            )
        return "\n".join(lines)


def record_run(cost: RunCost, stored: int, result_report: dict, peak_pss_mb: float, log: Path) -> None:
    """Add one child run's figures to `cost`."""
    summary = result_report["runs"][0]
    counts = summary["counts"]
    if summary["status"] != "completed" or not counts.get("loaded_articles"):
        raise RuntimeError(f"run-cost ingest into {stored:,} stored ended {summary['status']}: see {log}")
    timed = result_report["warehouse_s"]
    cost.warehouse_s.setdefault(stored, []).append(sum(timed.values()))
    stages = cost.stage_s.setdefault(stored, {})
    for stage in STAGES:
        stages.setdefault(stage, []).append(counts.get(f"stage_s_{stage}", 0.0))
    for call in TIMED:
        stages.setdefault(call, []).append(timed.get(call, 0.0))
    cost.loaded.setdefault(stored, []).append(counts["loaded_articles"])
    cost.peak_pss_mb.setdefault(stored, []).append(peak_pss_mb)


def record_earlier_run(db: Path) -> None:
    """Open and close one ingest run on a filled lake, so that it holds the taxonomy's topics and a finished run
    as a warehouse that has run before does (the measured runs then find them, as scheduled runs do)."""
    run_id = f"bench-fill-{db.stem}"
    open_run(db, run_id, "ingest", {"bench": "fill"}, None, keep_matcher=False)
    close_run(db, run_id, "ingest", "completed", {}, {})
    close_shared()


def prepare_lake(db: Path, stored: int) -> float:
    """Fill `db` with `stored` articles and one earlier run; return the seconds it took."""
    fill_s = fill_lake(db, stored)
    record_earlier_run(db)
    return fill_s


def kept_lake(keep: Path, stored: int) -> Path:
    """The lake of `stored` articles kept in `keep` (filled there by prepare_lake when missing)."""
    return keep / f"filled-{stored}.duckdb"


def fill_lakes(
    work: Path, sizes: tuple[int, ...], cost: RunCost, keep: Path | None = None
) -> dict[int, Path]:
    """One filled lake per size (a copy of the kept one, when `keep` is given); fill seconds and sizes to `cost`."""
    lakes = {}
    for stored in sizes:
        lakes[stored] = work / f"cost-{stored}.duckdb"
        if keep is None:
            cost.fill_s[stored] = prepare_lake(lakes[stored], stored)
        else:
            kept = kept_lake(keep, stored)
            if not catalog_path_for(kept).exists():  # a `--db` path names a lake: its catalog is the file
                keep.mkdir(parents=True, exist_ok=True)
                cost.fill_s[stored] = prepare_lake(kept, stored)
            cost.fill_s.setdefault(stored, 0.0)
            copy_warehouse(kept, lakes[stored])
        cost.lake_mb[stored] = measure_lake_bytes(lakes[stored]) / 2**20
        print(f"  run cost: filled {stored:,} stored articles in {cost.fill_s[stored]:.0f} s", flush=True)
    return lakes


def measure_run_cost(
    work: Path,
    sizes: tuple[int, ...],
    pages: int = 500,
    repeats: int = 3,
    workers: int = 0,
    keep: Path | None = None,
) -> RunCost:
    """Ingest `pages` new pages per round into a lake of each size, `repeats` rounds; the figures."""
    cost = RunCost(pages=pages)
    lakes = fill_lakes(work, sizes, cost, keep)
    server = SiteServer()
    try:
        site = build_site(pages * repeats, server.origin, items_per_feed=pages)
        server.publish(site)
        with run_server(server):
            for round_number, feed in enumerate(site.feed_paths[:repeats]):
                sources = write_sources(
                    work / f"cost-{round_number}.yaml", server.origin, [feed], pages, workers
                )
                for stored, db in lakes.items():
                    label = f"cost-{stored}-{round_number}"
                    result = run_ingest_child(
                        sources, db, work, work / "prefect", label=label, module="bench.timed_ingest"
                    )
                    record_run(cost, stored, result.report, result.peak_pss_mb, result.log_path)
                    print(f"  run cost: {label}: warehouse {cost.warehouse_s[stored][-1]:.2f} s", flush=True)
    finally:
        server.server_close()
        for db in lakes.values():
            remove_warehouse(db)
    return cost


def main() -> None:
    """Measure and print the figures and the run_cost line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000", help="stored-article counts, comma-separated")
    parser.add_argument("--pages", type=int, default=500, help="new pages per run")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (the median is reported)")
    parser.add_argument("--workers", type=int, default=0, help="ingest worker processes (0: one per core)")
    parser.add_argument("--keep", type=Path, help="folder keeping the filled lakes between invocations")
    parser.add_argument("--capture", type=Path, help="folder the children save each batch load's input to")
    args = parser.parse_args()
    if args.capture:
        args.capture.mkdir(parents=True, exist_ok=True)
        os.environ[CAPTURE_ENV] = str(args.capture.resolve())
    sizes = tuple(sorted(int(size) for size in args.sizes.split(",")))
    work = Path(tempfile.mkdtemp(prefix="run-cost-"))
    try:
        cost = measure_run_cost(work, sizes, args.pages, args.repeats, count_workers(args.workers), args.keep)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(cost.describe())
    print(
        f"run_cost: sizes={','.join(map(str, sizes))} pages={args.pages} "
        f"warehouse_s={','.join(f'{cost.median_s(s):.2f}' for s in sizes)} ratio={cost.ratio():.2f}"
    )


if __name__ == "__main__":
    main()
