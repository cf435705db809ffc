"""Re-poll cost when nothing changed: N feeds answered 304 on the loopback fault server.

Run: .venv/bin/python bench/bench_repoll.py [--feeds 500] [--items 30] [--rounds 3]
Primes N feeds (200 + parse), then re-polls them conditionally (all 304) and, as the baseline measured in the
same run, unconditionally (200 + parse + hash). Politeness delays are off (every feed is on 127.0.0.1, so a
1 s per-host spacing would measure the delay, not the cost); concurrency is bounded as in production.
Prints wall time, CPU time and bytes per round, and a last line
`repoll: feeds=N conditional_s=... unconditional_s=... ratio=... per_feed_ms=...`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from faultserver import FaultServer, conditional  # noqa: E402

from flows.http.fetch import FetchRequest, FetchSettings, fetch_batch  # noqa: E402
from flows.http.politeness import HOST_SCHEDULE  # noqa: E402
from transforms.feeds import parse_feed  # noqa: E402
from transforms.polling import (  # noqa: E402
    FeedState,
    PollOutcome,
    PollSettings,
    body_hash_of,
    build_feed_request,
    plan_next_poll,
)


def make_feed(index: int, items: int) -> bytes:
    """An RSS document with `items` items, about 600 bytes each."""
    rows = "".join(
        f"<item><title>Feed {index} story {i}: Aleppo talks resume</title>"
        f"<link>https://news{index}.example/{i}.html</link><guid>n{index}-{i}</guid>"
        f"<pubDate>Sat, 01 Jun 2024 10:{i % 60:02d}:00 GMT</pubDate>"
        f"<description>{'Reporting from the front line. ' * 12}</description></item>"
        for i in range(items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {index}</title>'
        f"{rows}</channel></rss>"
    ).encode()


def poll_round(
    states: list[FeedState], settings: FetchSettings, policy: PollSettings, force_unconditional: bool
) -> tuple[list[FeedState], dict[str, float]]:
    """One poll of every feed: fetch, parse 200s, plan the next poll. Returns new states and measurements."""
    now = datetime.now(UTC)
    plans = [build_feed_request(s, now, policy) for s in states]
    requests = [
        FetchRequest(
            p.url,
            "feed",
            None if force_unconditional else p.etag,
            None if force_unconditional else p.last_modified,
        )
        for p in plans
    ]
    wall, cpu = time.perf_counter(), time.process_time()
    results = fetch_batch(requests, settings)
    new_states, statuses, wire = [], {}, 0
    for state, request, result in zip(states, requests, results, strict=True):
        statuses[result.status] = statuses.get(result.status, 0) + 1
        wire += result.wire_bytes
        items_total = 0
        body_hash = None
        if result.ok:
            parsed = parse_feed(result.body, state.feed_url, result.headers)
            items_total = len(parsed.entries)
            body_hash = body_hash_of(result.body)
        outcome = PollOutcome(
            result.status,
            request.etag is not None,
            result.error_class,
            result.error,
            result.headers.get("etag"),
            result.headers.get("last-modified"),
            body_hash,
            items_total,
            0,
        )
        new_states.append(plan_next_poll(state, outcome, now, policy))
    measured = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu, "wire_bytes": wire}
    measured.update({f"status_{k}": v for k, v in statuses.items()})
    return new_states, measured


def poll_stage_round(urls: list[str], workdir: Path) -> tuple[float, float, dict[str, int], float]:
    """Prime then force-poll every feed through flows.stages.poll.poll_feeds on a real lake; also return the
    re-poll's seconds inside fetch_batch (the rest is parsing decisions, state and lake sessions)."""
    import flows.stages.poll
    from flows.settings.config import load_config
    from flows.stages.poll import poll_feeds
    from warehouse.db import write_session
    from warehouse.migrate import apply_migrations

    http_s = [0.0]
    real_fetch_batch = flows.stages.poll.fetch_batch

    def timed_fetch_batch(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real_fetch_batch(*args, **kwargs)
        finally:
            http_s[0] += time.perf_counter() - started

    db = workdir / "bench.duckdb"
    with write_session(db) as connection:
        apply_migrations(connection)
    sources = workdir / "sources.yaml"
    sources.write_text("allow_private_networks: true\nfeeds:\n" + "".join(f"  - url: {u}\n" for u in urls))
    config = load_config(sources)
    settings = FetchSettings(allow_private_networks=True, per_host_delay_s=0.0, per_host_connections=16)
    started = time.perf_counter()
    poll_feeds(config, db, "bench-prime", settings, force=True)
    prime_s = time.perf_counter() - started
    flows.stages.poll.fetch_batch = timed_fetch_batch
    try:
        started = time.perf_counter()
        repoll = poll_feeds(config, db, "bench-repoll", settings, force=True)
        repoll_s = time.perf_counter() - started
    finally:
        flows.stages.poll.fetch_batch = real_fetch_batch
    return prime_s, repoll_s, repoll.counts, http_s[0]


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-warehouse", action="store_true", help="skip the poll_feeds + lake round")
    args = parser.parse_args()
    settings = FetchSettings(
        allow_private_networks=True, per_host_delay_s=0.0, per_host_connections=16, max_connections=32
    )
    policy = PollSettings()
    with FaultServer() as server:
        urls = [
            server.route(f"/feeds/{i}.xml", conditional(make_feed(i, args.items))) for i in range(args.feeds)
        ]
        states = [FeedState(url) for url in urls]
        HOST_SCHEDULE.clear()
        states, prime = poll_round(states, settings, policy, force_unconditional=True)
        print(f"prime (200 + parse): {prime}")
        conditional_runs, unconditional_runs = [], []
        for _ in range(args.rounds):
            states, cond = poll_round(states, settings, policy, force_unconditional=False)
            _, uncond = poll_round(states, settings, policy, force_unconditional=True)
            conditional_runs.append(cond)
            unconditional_runs.append(uncond)
            print(f"conditional:   {cond}")
            print(f"unconditional: {uncond}")
        stage = None
        if not args.no_warehouse:
            import tempfile

            with tempfile.TemporaryDirectory() as workdir:
                stage = poll_stage_round(urls, Path(workdir))
            print(
                f"poll stage with the lake: prime_s={stage[0]:.3f} all_304_s={stage[1]:.3f} "
                f"(http_s={stage[3]:.3f} other_s={stage[1] - stage[3]:.3f}) counts={stage[2]}"
            )
    cond_s = statistics.median(r["wall_s"] for r in conditional_runs)
    uncond_s = statistics.median(r["wall_s"] for r in unconditional_runs)
    cond_cpu = statistics.median(r["cpu_s"] for r in conditional_runs)
    print(
        f"repoll: feeds={args.feeds} conditional_s={cond_s:.3f} unconditional_s={uncond_s:.3f} "
        f"ratio={uncond_s / cond_s:.2f} per_feed_ms={1000 * cond_s / args.feeds:.2f} "
        f"cpu_s={cond_cpu:.3f} wire_bytes_304={conditional_runs[-1]['wire_bytes']} "
        f"wire_bytes_200={unconditional_runs[-1]['wire_bytes']}"
    )


if __name__ == "__main__":
    main()
