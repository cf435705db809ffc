"""Scale run (issue 22): many feeds on many loopback hosts, PostgreSQL, a Prefect server on it, process workers.

    .venv/bin/python -m bench.scale --feeds 10000 --hosts 500 --workers 2      (make bench-scale)

Every loopback host (127.1.x.y) is served by one selector thread (bench/host_sites.py); each host has
feeds/hosts feeds of `--items` pages from its own `--pages-per-host` pages. Phase 1 ("new"): one run per shard of
prefect.yaml's ingest deployments fetches every page. Phase 2 ("no-change", `--nochange-runs` times): the same
runs with force_poll, every feed answering 304. `nochange_s` is the median of the runs' own span in the lake
(`runs`: the first run's start → the last run's end, flow bodies only); each phase's JSON line adds the wall
from creating the runs to both completed and what Prefect spent before the flow bodies began. Spacing is measured at the servers from the kernel's receive
timestamps of each request (arrivals per host, across all workers), against `per_host_delay_s` less
CLOCK_TOLERANCE_S. Last line:
`scale: feeds=N hosts=H workers=W nochange_s=S pages_per_s=P lost=L doubled=D spacing_violations=V`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import yaml

from bench.cluster import (
    SHARD_DEPLOYMENTS,
    Cluster,
    Postgres,
    count_close_arrivals,
    create_run,
    loopback_hosts,
    read_run,
    running_cluster,
    running_postgres,
    serving_hosts,
    wait_final,
)
from bench.site import ROBOTS, Site, build_site, make_feed, write_sources

REPO = Path(__file__).resolve().parent.parent
NO_CORPUS = REPO / "no-such-corpus"  # the seed pages as templates, whatever ../shared holds
EPOCH = datetime(2024, 6, 1, tzinfo=UTC)  # fixed dates: a feed's bytes (and ETag) stay the same between polls
# Arrivals are the kernel's wall-clock receive times; the fetcher spaces by the monotonic clock.
CLOCK_TOLERANCE_S = 0.001


def build_host_site(
    origin: str, host_number: int, feeds: int, items: int, pages: int, templates: list
) -> Site:
    """One host's site: `feeds` feeds of `items` pages each, drawn from the host's own `pages` pages."""
    first = host_number * pages
    site = Site(templates=templates, page_count=first + pages, source="seed pages")
    for feed in range(feeds):
        chosen = [first + (feed * items + k) % pages for k in range(items)]
        path = f"/feeds/{feed}.xml"
        body = make_feed(
            origin, f"Host {host_number} feed {feed}", [(i, f"/a/{i}.html") for i in chosen], EPOCH
        )
        site.files[path] = body
        site.feed_paths.append(path)
    site.files["/robots.txt"] = ROBOTS
    return site


def publish_sites(servers: list, feeds: int, items: int, pages: int) -> tuple[list[str], set[str]]:
    """Give every host its site; return all feed URLs and all page URLs."""
    templates = build_site(1, "http://127.0.0.1", corpus=NO_CORPUS).templates
    per_host = [feeds // len(servers) + (n < feeds % len(servers)) for n in range(len(servers))]
    feed_urls, page_urls = [], set()
    for number, (server, count) in enumerate(zip(servers, per_host, strict=True)):
        site = build_host_site(server.origin, number, count, items, pages, templates)
        server.publish(site)
        feed_urls += [server.origin + path for path in site.feed_paths]
        page_urls |= {server.origin + f"/a/{i}.html" for i in range(number * pages, (number + 1) * pages)}
    return feed_urls, page_urls


def write_scale_sources(path: Path, feed_urls: list[str], delay_s: float, batch_size: int) -> Path:
    """A sources file for the scale feeds: loopback allowed, `delay_s` between requests to one host."""
    write_sources(path, "", feed_urls, batch_size=batch_size)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["fetch"].update({"per_host_delay_s": delay_s, "per_host_connections": 2, "max_connections": 64})
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def process_cpu_s(root: psutil.Process) -> float:
    """CPU seconds of a process and every descendant, living or already reaped."""
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def cpu_by_role(cluster: Cluster, postgres: Postgres) -> dict[str, float]:
    """CPU seconds so far of the Prefect server, PostgreSQL, the workers (with their flow runs), and this process
    (the site servers' thread)."""
    roles = {
        "prefect_server": [cluster.server.pid],
        "postgres": [postgres.server.get_pid()],
        "workers": [process.pid for process in cluster.workers.values()],
    }
    seconds = {}
    for role, pids in roles.items():
        seconds[role] = sum(process_cpu_s(psutil.Process(pid)) for pid in pids if psutil.pid_exists(pid))
    own = psutil.Process().cpu_times()
    seconds["sites_and_bench"] = own.user + own.system
    return seconds


def run_phase(cluster: Cluster, postgres: Postgres, parameters: dict[str, Any], timeout_s: float) -> dict:
    """One run per shard deployment; wall seconds from creating the runs to the last final state, CPU shares,
    and Prefect's own times."""
    before, started = cpu_by_role(cluster, postgres), time.monotonic()
    created = datetime.now(UTC)
    runs = [create_run(cluster.api, name, parameters) for name in SHARD_DEPLOYMENTS]
    states = wait_final(cluster.api, runs, timeout_s)
    wall = time.monotonic() - started
    after = cpu_by_role(cluster, postgres)
    cores = psutil.cpu_count() or 1
    share = {role: round((after[role] - before[role]) / (wall * cores), 3) for role in after}
    return {
        "wall_s": round(wall, 2),
        **prefect_times(cluster.api, runs, created),
        "states": sorted(s["type"] for s in states.values()),
        "cpu_share": share,
        "cpu_s": {role: round(after[role] - before[role], 1) for role in after},
        "run_ids": runs,
        "created": created,
    }


def read_lake(db: str, run_ids: list[str]) -> dict[str, Any]:
    """The runs' own start and end, span and counts, and the articles the lake holds."""
    from warehouse.db import open_warehouse

    with open_warehouse(db, read_only=True) as connection:
        runs = connection.execute(
            "SELECT started_at, finished_at, counts FROM runs WHERE run_id IN (SELECT unnest(?))", [run_ids]
        ).fetchall()
        urls = [row[0] for row in connection.execute("SELECT url FROM articles").fetchall()]
    counts = [json.loads(row[2] or "{}") for row in runs]
    finished = bool(runs) and all(r[1] for r in runs)
    first_start = min(r[0] for r in runs).replace(tzinfo=UTC) if runs else None
    last_end = max(r[1] for r in runs).replace(tzinfo=UTC) if finished else None
    span = (last_end - first_start).total_seconds() if finished else None
    return {"span_s": span, "first_start": first_start, "counts": counts, "article_urls": urls}


def prefect_times(api: str, run_ids: list[str], created: datetime) -> dict[str, float | None]:
    """Seconds from creating the runs to the last one Running (worker pick-up, process start, imports, flow
    load: Prefect's start), and to the last one's end."""
    runs = [read_run(api, run_id) for run_id in run_ids]
    starts = [r.get("start_time") for r in runs]
    ends = [r.get("end_time") for r in runs]

    def after(moments: list[str | None]) -> float | None:
        if not all(moments):
            return None
        return round((max(datetime.fromisoformat(m) for m in moments) - created).total_seconds(), 2)

    return {"prefect_start_s": after(starts), "created_to_end_s": after(ends)}


def summarise_phase(name: str, phase: dict, lake: dict, arrivals: dict, delay_s: float) -> dict:
    """A phase's figures, printed as one JSON line."""
    close, least = count_close_arrivals(arrivals, delay_s, CLOCK_TOLERANCE_S)
    figures = {
        "phase": name,
        **{k: v for k, v in phase.items() if k not in ("run_ids", "created")},
        "runs_span_s": lake["span_s"],
        "first_flow_start_s": round((lake["first_start"] - phase["created"]).total_seconds(), 2)
        if lake["first_start"]
        else None,
        "poll_stage_s": [c.get("stage_s_entries") for c in lake["counts"]],
        "flow_body_s": [c.get("seconds") for c in lake["counts"]],
        "pages_fetched": sum(c.get("pages_fetched", 0) for c in lake["counts"]),
        "feeds_unchanged": sum(c.get("feeds_unchanged", 0) for c in lake["counts"]),
        "requests_at_servers": sum(len(v) for v in arrivals.values()),
        "close_arrivals": close,
        "least_gap_s": round(least, 4),
    }
    print(json.dumps(figures), flush=True)
    return figures


def measure(args: argparse.Namespace, folder: Path) -> str:
    """Run both phases and return the summary line."""
    hosts = loopback_hosts(args.hosts)
    data_path = str(folder / "shared" / "lake.files")
    os.environ["NEWSDESK_LAKE_DATA_PATH"] = data_path
    with running_postgres(folder / "pgdata") as postgres, serving_hosts(hosts) as (servers, arrivals):
        feed_urls, page_urls = publish_sites(servers, args.feeds, args.items, args.pages_per_host)
        sources = write_scale_sources(folder / "sources.yaml", feed_urls, args.delay, args.batch_size)
        db = postgres.uri("lake")
        with running_cluster(
            postgres, folder, args.workers, {"NEWSDESK_LAKE_DATA_PATH": data_path}
        ) as cluster:
            from warehouse.db import write_session
            from warehouse.migrate import apply_migrations

            with write_session(db) as connection:  # the lake made once, before the first runs
                apply_migrations(connection)
            params = {"sources": str(sources), "db": db}
            new = run_phase(cluster, postgres, params, args.timeout)
            new_lake = read_lake(db, new["run_ids"])
            first = summarise_phase("new", new, new_lake, arrivals, args.delay)
            repolls = []
            for _ in range(args.nochange_runs):
                arrivals.clear()
                same = run_phase(cluster, postgres, {**params, "force_poll": True}, args.timeout)
                same_lake = read_lake(db, same["run_ids"])
                repolls.append(summarise_phase("no-change", same, same_lake, arrivals, args.delay))
    urls = same_lake["article_urls"]
    lost = len(page_urls - set(urls))
    doubled = len(urls) - len(set(urls))
    pages_per_s = round(first["pages_fetched"] / first["runs_span_s"], 1) if first["runs_span_s"] else 0
    violations = first["close_arrivals"] + sum(repoll["close_arrivals"] for repoll in repolls)
    nochange_s = statistics.median(repoll["runs_span_s"] for repoll in repolls)
    return (
        f"scale: feeds={len(feed_urls)} hosts={len(hosts)} workers={args.workers} "
        f"nochange_s={nochange_s:.1f} pages_per_s={pages_per_s} lost={lost} doubled={doubled} "
        f"spacing_violations={violations}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The bench's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--pages-per-host", type=int, default=6, help="distinct pages on each host")
    parser.add_argument("--items", type=int, default=3, help="pages listed by each feed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.25, help="per_host_delay_s")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--nochange-runs", type=int, default=3, help="no-change phases (nochange_s: median)")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs) in /tmp")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the scale bench in a fresh folder under /tmp and print its figures."""
    args = parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="newsdesk-scale-"))
    try:
        line = measure(args, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(line, flush=True)


if __name__ == "__main__":
    main()
