"""`make bench`: build a loopback news site and measure newsdesk against the extraction floor and a peer.

Run: .venv/bin/python -m bench [--pages 2000] [--runs 3] [--quick]
    [--parts floor,e2e,peer,nochange,growth,retag,lake]   (`--parts lake`: the lake figures alone)
Prints the table, writes it to bench/out/latest.md (not tracked) and ends with one line
`bench: e2e_vs_floor=R vs_peer=R nochange_s=S dedup_growth=R retag_per_s=N peak_rss_mb=N peak_pss_mb=N
run_cost_growth=R reader_lag_s=S search_ms=M` (`na` for a lake figure not measured).
See docs/benchmarks.md for what each figure means and the aims.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.e2e import child_environment, run_ingest_child
from bench.floor import measure_floor
from bench.growth import measure_growth
from bench.lake_part import run_lake_part
from bench.peer import is_available, measure_peer
from bench.report import Figures, describe_machine, format_summary_line, render_markdown
from bench.retag import measure_retag
from bench.site import SiteServer, build_site, run_server, write_sources
from bench.warehouses import remove_warehouse
from flows.stages.articles import count_workers

PARTS = ("floor", "e2e", "peer", "nochange", "growth", "retag", "lake")
RESULTS = Path(__file__).resolve().parent / "out" / "latest.md"  # ignored by git: keeping a round is a choice
DEDUP_GROWTH_BENCH = Path(__file__).resolve().parent / "bench_dedup_growth.py"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000, help="article pages on the site (default 2000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is reported")
    parser.add_argument("--quick", action="store_true", help="one run, small growth sizes (the test smoke)")
    parser.add_argument(
        "--parts", default=",".join(PARTS), help="comma-separated subset of " + ",".join(PARTS)
    )
    parser.add_argument("--workers", type=int, default=0, help="worker processes (0: one per core)")
    parser.add_argument("--items-per-feed", type=int, default=100)
    parser.add_argument("--nochange-feeds", type=int, default=500, help="feeds in the no-change re-run")
    parser.add_argument("--batch-size", type=int, default=500, help="ingest batch size")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the markdown table")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (warehouses, logs)")
    args = parser.parse_args(argv)
    unknown = set(args.parts.split(",")) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    if args.pages < 1 or args.runs < 1:
        parser.error("--pages and --runs must be at least 1")
    if args.quick:
        args.runs = 1
    return args


def stage_seconds(counts: dict) -> dict[str, float]:
    """The per-stage seconds the ingest flow recorded in its counts."""
    return {
        key.removeprefix("stage_s_"): value for key, value in counts.items() if key.startswith("stage_s_")
    }


def run_e2e(figures: Figures, sources: Path, work: Path, prefect_home: Path, run: int) -> Path:
    """One newsdesk ingest into a fresh warehouse, in a child process; returns the warehouse path."""
    db = work / f"e2e-{run}.duckdb"
    result = run_ingest_child(sources, db, work, prefect_home, label=f"e2e-{run}")
    summary = result.report["runs"][0]
    counts = summary["counts"]
    if summary["status"] != "completed":
        raise RuntimeError(f"ingest run {run} ended {summary['status']}: see {result.log_path}")
    pages, articles, flow_s = (
        counts.get("pages_fetched", 0),
        counts.get("loaded_articles", 0),
        summary["flow_wall_s"],
    )
    figures.e2e_pages_per_s.append(pages / flow_s)
    figures.e2e_articles_per_s.append(articles / flow_s)
    figures.e2e_articles.append(articles)
    figures.e2e_with_start_per_s.append(pages / result.report["process_s"])
    figures.prefect_start_s.append(result.report["prefect_start_s"])
    figures.peak_rss_mb.append(result.peak_rss_mb)
    figures.peak_pss_mb.append(result.peak_pss_mb)
    figures.peak_processes = result.extra["peak_processes"]
    figures.peak_pss_processes = result.extra["peak_pss_processes"]
    figures.peak_pss_at_s = result.extra["peak_pss_at_s"]
    for stage, seconds in stage_seconds(counts).items():
        figures.stage_s.setdefault(stage, []).append(seconds)
    figures.stage_s.setdefault("whole flow", []).append(flow_s)
    print(
        f"  e2e run {run}: {pages} pages, {articles} articles in {flow_s:.1f} s "
        f"(+{result.report['prefect_start_s']:.1f} s Prefect start), peak PSS {result.peak_pss_mb:.0f} MiB "
        f"(RSS {result.peak_rss_mb:.0f})"
    )
    return db


def run_nochange(
    figures: Figures, sources: Path, db: Path, work: Path, prefect_home: Path, runs: int
) -> None:
    """Prime the feeds on a loaded warehouse, then time re-runs in which every feed should answer 304."""
    result = run_ingest_child(sources, db, work, prefect_home, nochange=runs, label="nochange")
    unchanged = []
    for summary in result.report["runs"]:
        counts = summary["counts"]
        figures.nochange_s.append(summary["flow_wall_s"])
        unchanged.append(counts.get("feeds_unchanged", 0))
        for stage, seconds in stage_seconds(counts).items():
            figures.nochange_stage_s.setdefault(stage, []).append(seconds)
        figures.nochange_stage_s.setdefault("whole flow", []).append(summary["flow_wall_s"])
        # The flow body's own seconds (counted inside the flow): the rest is Prefect's engine around it.
        figures.nochange_stage_s.setdefault("flow body", []).append(counts.get("seconds", 0.0))
    due = result.report["runs"][0]["counts"].get("feeds_due", 0)
    figures.nochange_note = (
        f"No-change re-run: {min(unchanged)} of {due} feeds answered 304 (conditional GET with the stored ETag); "
        f"the flow opens and closes its run, polls and records the fetches in the lake. The child runs its flows as "
        f"`newsdesk ingest` does (flows/settings/prefect_runs.py): on Prefect's temporary server, without heartbeats."
    )
    if min(unchanged) < due:
        figures.nochange_note += (
            " Not every feed was conditional: the poll stage did not send stored validators."
        )
    print(f"  no-change: {figures.nochange_s} s, {min(unchanged)}/{due} feeds unchanged")


def run_dedup_growth_bench(quick: bool) -> str:
    """Run the near-duplicate stage's own growth bench when it exists; return its last line."""
    if not DEDUP_GROWTH_BENCH.exists():
        return ""
    command = [sys.executable, str(DEDUP_GROWTH_BENCH)] + (["--repeats", "1"] if quick else [])
    timeout_s = 180 if quick else 1200
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=child_environment(Path(tempfile.gettempdir())),
        )
    except subprocess.TimeoutExpired:
        return f"bench_dedup_growth.py did not finish within {timeout_s} s"
    lines = done.stdout.strip().splitlines()
    return (
        lines[-1] if done.returncode == 0 and lines else f"bench_dedup_growth.py failed: {done.stderr[-300:]}"
    )


def run_site_parts(figures: Figures, args: argparse.Namespace, parts: set[str], work: Path) -> None:
    """Build and serve the bench site, then run the parts that ingest from it (floor to retag)."""
    prefect_home = work / "prefect"
    server = SiteServer()
    try:
        site = build_site(args.pages, server.origin, args.items_per_feed, args.nochange_feeds)
        figures.site_source = (
            f"{args.pages:,} copies cycled from {site.source}, each with its own URL, its number and a per-copy "
            f"filler word after every four words of text (no two copies share a content hash or most shingles); "
            f"{len(site.feed_paths)} feeds of {args.items_per_feed} items"
        )
        server.publish(site)
        with run_server(server):
            sources = write_sources(
                work / "sources.yaml", server.origin, site.feed_paths, args.batch_size, figures.workers
            )
            all_feeds = site.feed_paths + site.filler_feed_paths
            nochange_sources = write_sources(
                work / "sources-all.yaml", server.origin, all_feeds, args.batch_size, figures.workers
            )
            feed_urls = [server.origin + path for path in site.feed_paths]
            last_db = run_rounds(figures, args, parts, sources, feed_urls, work)
            if "nochange" in parts and last_db is not None:
                figures.nochange_feeds = len(all_feeds)
                run_nochange(figures, nochange_sources, last_db, work, prefect_home, args.runs)
            if "retag" in parts and last_db is not None:
                run_retag(figures, last_db, work, args.runs)
    finally:
        server.server_close()


def run_retag(figures: Figures, db: Path, work: Path, runs: int) -> None:
    """Retag throughput over a copy of the last e2e warehouse; a failed retag is noted and the bench goes on
    (its figure then reads nan, which the smoke test refuses)."""
    for _ in range(runs):
        try:
            retag = measure_retag(db, work)
        except RuntimeError as error:
            figures.retag_note = f"Retag failed: {str(error).strip().splitlines()[-1][:300]}"
            print(f"  retag: {figures.retag_note}")
            return
        figures.retag_per_s.append(float(retag["per_s"]))
        figures.retag_note = f"Retag: {retag['articles']} articles; {retag.get('method', '')}."
    print(f"  retag: {figures.retag_per_s} articles/s")


def run_rounds(
    figures: Figures,
    args: argparse.Namespace,
    parts: set[str],
    sources: Path,
    feed_urls: list[str],
    work: Path,
) -> Path | None:
    """The interleaved rounds of floor, e2e and peer; returns the last e2e warehouse (None without e2e)."""
    last_db = None
    for run in range(args.runs):
        print(f"round {run + 1} of {args.runs}")
        if "floor" in parts:
            floor = measure_floor(args.pages, figures.workers)
            figures.floor_pages_per_s.append(floor["pages_per_s"])
            print(f"  floor: {floor['pages_per_s']:.1f} pages/s ({floor['extracted']} with a body)")
        if "e2e" in parts:
            if last_db is not None and not args.keep:
                remove_warehouse(last_db)
            last_db = run_e2e(figures, sources, work, work / "prefect", run)
        if "peer" in parts and is_available():
            peer = measure_peer(feed_urls, figures.workers)
            figures.peer_pages_per_s.append(peer["pages_per_s"])
            print(f"  peer: {peer['pages_per_s']:.1f} pages/s ({peer['parsed']} with text)")
    if "peer" in parts:
        figures.peer_note = (
            f"Peer: feedparser reads the feeds, then newspaper4k (fetch_images off) downloads and parses each "
            f"article on {figures.workers} processes; it stores, deduplicates and tags nothing."
            if is_available()
            else "Peer not measured: newspaper4k is not installed (pip install -e '.[bench]')."
        )
    return last_db


def run_growth(figures: Figures, work: Path, quick: bool) -> None:
    """The load's per-article cost over few and many stored articles, and the near-duplicate stage's bench."""
    sizes = (1_000, 10_000) if quick else (10_000, 200_000)
    figures.growth_ms = measure_growth(work, sizes, batches=1 if quick else 3)
    figures.growth_note = (
        f"Growth: per-article time of load_plan (known-URL lookup, content-hash dedup, one-transaction "
        f"load) for 500 new articles over {' vs '.join(f'{s:,}' for s in sizes)} synthetic stored articles."
    )
    other = run_dedup_growth_bench(quick)
    if other:
        figures.growth_note += f" bench_dedup_growth.py: `{other}`"
    print(f"  growth: {figures.growth_ms} ms/article")


def run_lake(figures: Figures, work: Path, args: argparse.Namespace) -> None:
    """Run cost as the lake grows, reader lag and search latency (bench/lake_part.py)."""
    lake = run_lake_part(work, args.quick, args.runs, figures.workers)
    if lake.run_cost is not None:
        figures.run_cost_growth = lake.run_cost.ratio()
        figures.run_cost_lines = lake.run_cost.describe().splitlines()
    figures.reader_lag_s = lake.reader_lag_s or []
    figures.search_ms = lake.search_ms
    sizes = lake.sizes
    figures.lake_note = (
        f"Lake: run cost = a real ingest run of {sizes.run_cost_pages} new pages into lakes of "
        f"{' vs '.join(f'{s:,}' for s in sizes.run_cost_sizes)} synthetic stored articles (bench/lake_fill.py), "
        f"timed outside the poll, fetch and build stages (run opening, load, closing), median of {args.runs}; "
        f"reader lag over {sizes.lag_commits} commits of 500 rows into {sizes.lag_stored:,} stored; "
        f"search: `{lake.search_line}`."
    )


def main(argv: list[str] | None = None) -> Figures:
    """Run every part asked for, print and write the table, and end with the summary line."""
    args = parse_args(argv)
    parts = set(args.parts.split(","))
    workers = count_workers(args.workers)
    figures = Figures(pages=args.pages, runs=args.runs, workers=workers, machine_before=describe_machine())
    work = Path(tempfile.mkdtemp(prefix="newsdesk-bench-"))
    try:
        if parts & {"floor", "e2e", "peer", "nochange", "retag"}:
            run_site_parts(figures, args, parts, work)
        if "growth" in parts:
            run_growth(figures, work, args.quick)
        if "lake" in parts:
            run_lake(figures, work, args)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work folder kept: {work}")
    figures.machine_after = describe_machine()
    table = render_markdown(figures)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table, encoding="utf-8")
    print(table)
    print(format_summary_line(figures.summary()))
    return figures


if __name__ == "__main__":
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    main()
