"""Scale run (issue 22): many feeds on many loopback hosts, PostgreSQL, a Prefect server on it, process workers.

    .venv/bin/python -m bench.scale --feeds 10000 --hosts 500 --workers 2      (make bench-scale)

One threaded site server per loopback host (127.1.x.y); each host has feeds/hosts feeds of `--items` pages from
its own `--pages-per-host` pages. Phase 1 ("new"): one run per shard of prefect.yaml's ingest deployments fetches
every page. Phase 2 ("no-change"): the same runs with force_poll, every feed answering 304. Spacing is measured
at the servers (arrival times per host, across all workers); the lake's `fetches.fetched_at` is taken before a
request waits for its host's slot, so it only bounds it. Last line:
`scale: feeds=N hosts=H workers=W nochange_s=S pages_per_s=P lost=L doubled=D spacing_violations=V`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections import defaultdict
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
    running_cluster,
    running_postgres,
    serving_hosts,
    wait_final,
)
from bench.site import ROBOTS, Site, build_site, make_feed, write_sources

REPO = Path(__file__).resolve().parent.parent
NO_CORPUS = REPO / "no-such-corpus"  # the seed pages as templates, whatever ../shared holds
EPOCH = datetime(2024, 6, 1, tzinfo=UTC)  # fixed dates: a feed's bytes (and ETag) stay the same between polls
ARRIVAL_SLACK_S = 0.05  # a request's send may lag its reserved slot by scheduling noise


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
    (the site servers)."""
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
    """One run per shard deployment; wall seconds from creating the runs to the last final state, CPU shares."""
    before, started = cpu_by_role(cluster, postgres), time.monotonic()
    runs = [create_run(cluster.api, name, parameters) for name in SHARD_DEPLOYMENTS]
    states = wait_final(cluster.api, runs, timeout_s)
    wall = time.monotonic() - started
    after = cpu_by_role(cluster, postgres)
    cores = psutil.cpu_count() or 1
    share = {role: round((after[role] - before[role]) / (wall * cores), 3) for role in after}
    return {
        "wall_s": round(wall, 2),
        "states": sorted(s["type"] for s in states.values()),
        "cpu_share": share,
        "run_ids": runs,
    }


def read_lake(db: str, run_ids: list[str]) -> dict[str, Any]:
    """The runs' own span and counts, and the articles and fetches the lake holds."""
    from warehouse.db import open_warehouse

    with open_warehouse(db, read_only=True) as connection:
        runs = connection.execute(
            "SELECT started_at, finished_at, counts FROM runs WHERE run_id IN (SELECT unnest(?))", [run_ids]
        ).fetchall()
        urls = [row[0] for row in connection.execute("SELECT url FROM articles").fetchall()]
        fetched = connection.execute(
            "SELECT url, fetched_at FROM fetches WHERE run_id IN (SELECT unnest(?))", [run_ids]
        ).fetchall()
    counts = [json.loads(row[2] or "{}") for row in runs]
    span = (
        (max(r[1] for r in runs) - min(r[0] for r in runs)).total_seconds()
        if runs and all(r[1] for r in runs)
        else None
    )
    return {"span_s": span, "counts": counts, "article_urls": urls, "fetched": fetched}


def lake_close_fetches(fetched: list[tuple[str, Any]], delay_s: float) -> int:
    """Requests the lake records less than delay_s after the previous one to their host (fetched_at is taken
    before the host's slot is waited for, so this over-counts)."""
    from urllib.parse import urlsplit

    by_host: dict[str, list[float]] = defaultdict(list)
    for url, at in fetched:
        by_host[urlsplit(url).hostname or ""].append(at.timestamp())
    return count_close_arrivals(by_host, delay_s, 0.0)[0]


def summarise_phase(name: str, phase: dict, lake: dict, arrivals: dict, delay_s: float) -> dict:
    """A phase's figures, printed as one JSON line."""
    close, least = count_close_arrivals(arrivals, delay_s, ARRIVAL_SLACK_S)
    poll_s = [c.get("stage_s_entries") for c in lake["counts"]]
    figures = {
        "phase": name,
        **{k: v for k, v in phase.items() if k != "run_ids"},
        "runs_span_s": lake["span_s"],
        "poll_stage_s": poll_s,
        "pages_fetched": sum(c.get("pages_fetched", 0) for c in lake["counts"]),
        "feeds_unchanged": sum(c.get("feeds_unchanged", 0) for c in lake["counts"]),
        "requests_at_servers": sum(len(v) for v in arrivals.values()),
        "close_arrivals": close,
        "least_gap_s": round(least, 4),
        "lake_fetched_at_close": lake_close_fetches(lake["fetched"], delay_s),
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
            arrivals.clear()
            same = run_phase(cluster, postgres, {**params, "force_poll": True}, args.timeout)
            same_lake = read_lake(db, same["run_ids"])
            second = summarise_phase("no-change", same, same_lake, arrivals, args.delay)
    urls = same_lake["article_urls"]
    lost = len(page_urls - set(urls))
    doubled = len(urls) - len(set(urls))
    pages_per_s = round(first["pages_fetched"] / first["runs_span_s"], 1) if first["runs_span_s"] else 0
    violations = first["close_arrivals"] + second["close_arrivals"]
    return (
        f"scale: feeds={len(feed_urls)} hosts={len(hosts)} workers={args.workers} "
        f"nochange_s={second['runs_span_s']:.1f} pages_per_s={pages_per_s} lost={lost} doubled={doubled} "
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
