"""Batch-parallel execution: the articles stage's process pool, and ingest batches that stay bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.site import SiteServer, build_site, run_server, write_sources
from flows.stages.articles import POOL_THRESHOLD, PageJob, build_articles, close_pool
from tests.conftest import REPO
from transforms.records import FeedEntry
from warehouse.db import open_warehouse

NO_CORPUS = REPO / "no-such-corpus"  # build the bench site from the seed pages, whatever ../shared holds


@pytest.fixture(scope="module")
def page_jobs() -> list[PageJob]:
    """Enough distinct seed-derived pages for the pool to be chosen on its own."""
    site = build_site(POOL_THRESHOLD + 4, "http://127.0.0.1:9", corpus=NO_CORPUS)
    return [
        PageJob(
            url=f"http://127.0.0.1:9{site.page_path(i)}",
            final_url=f"http://127.0.0.1:9{site.page_path(i)}",
            body=site.page_body(i),
            feed_url="http://127.0.0.1:9/feeds/0.xml",
            entry_title=f"Story {i}",
        )
        for i in range(site.page_count)
    ]


@pytest.mark.slow
def test_pool_gives_the_in_process_results_in_page_order(page_jobs):
    from flows.stages import articles

    in_process = build_articles(page_jobs, workers=1)
    assert articles._pool is None  # one worker: no pool
    try:
        pooled = build_articles(page_jobs, workers=2)  # big enough batch: the pool is chosen by itself
        assert articles._pool is not None
        again = build_articles(page_jobs[:3], workers=2)  # a running pool takes small batches too
    finally:
        close_pool()
    assert [o.url for o in pooled] == [job.url for job in page_jobs]
    assert pooled == in_process
    assert again == in_process[:3]
    assert sum(o.article is not None for o in pooled) > len(page_jobs) // 2


@pytest.mark.slow
def test_close_pool_ends_the_workers(page_jobs):
    import multiprocessing

    from flows.stages import articles

    build_articles(page_jobs, workers=2)
    assert len(multiprocessing.active_children()) == 2
    close_pool()
    assert articles._pool is None
    assert not multiprocessing.active_children()


def test_small_batches_stay_in_process(page_jobs):
    close_pool()
    outcomes = build_articles(page_jobs[:3], workers=2)
    from flows.stages import articles

    assert articles._pool is None
    assert len(outcomes) == 3


@pytest.mark.slow
def test_ingest_holds_a_bounded_number_of_batches(prefect_harness, tmp_path):
    """Batch k+3 is fetched only after batch k is loaded: a run never holds more than three batches of pages."""
    from flows.ingest import ingest

    pages, batch_size = 90, 15
    server = SiteServer()
    site = build_site(pages, server.origin, items_per_feed=30, corpus=NO_CORPUS)
    server.publish(site)
    db = tmp_path / "news.duckdb"
    with run_server(server):
        sources = write_sources(
            tmp_path / "sources.yaml", server.origin, site.feed_paths, batch_size=batch_size
        )
        summary = ingest(sources=str(sources), db=str(db))
    assert summary["status"] == "completed"
    assert summary["counts"]["pages_fetched"] == pages
    with open_warehouse(db, read_only=True) as connection:
        fetched = [
            r[0]
            for r in connection.execute(
                "SELECT fetched_at FROM fetches WHERE kind = 'page' ORDER BY fetched_at"
            ).fetchall()
        ]
        loaded = [
            r[0]
            for r in connection.execute(
                "SELECT DISTINCT first_seen_at FROM articles ORDER BY first_seen_at"
            ).fetchall()
        ]
    assert len(fetched) == pages
    assert len(loaded) == pages // batch_size  # one load (one transaction, one timestamp) per batch
    # When batch n is loaded, batches n+1 and n+2 may be fetched (the pipeline), never more.
    for number, loaded_at in enumerate(loaded, start=1):
        fetched_before = sum(1 for at in fetched if at <= loaded_at)
        assert fetched_before <= (number + 2) * batch_size
    assert sum(1 for at in fetched if at <= loaded[0]) < pages  # the first load came before the last fetch


def test_batches_start_small_double_up_to_the_batch_size_and_taper_at_the_end():
    from flows.stages.batches import split_batches

    entries = [
        FeedEntry(feed_url="http://127.0.0.1:9/feed.xml", guid=str(i), link=f"http://127.0.0.1:9/{i}")
        for i in range(1500)
    ]
    sizes = [len(batch) for batch in split_batches(entries, 500)]
    assert sizes == [62, 124, 248, 496, 285, 143, 71, 71]
    assert [e.guid for batch in split_batches(entries, 500) for e in batch] == [e.guid for e in entries]
    assert [len(b) for b in split_batches(entries[:100], 40)] == [40, 40, 20]  # small sizes: no ramp
    assert split_batches([], 500) == []


def test_entries_of_one_page_share_a_batch_so_it_is_fetched_once():
    from flows.stages.batches import split_batches

    feeds = [f"http://127.0.0.1:9/feed-{n}.xml" for n in range(3)]
    # Three feeds list the same 300 pages (under their own guids, one with tracking parameters).
    entries = [
        FeedEntry(
            feed_url=feed, guid=f"{feed}-{i}", link=f"http://127.0.0.1:9/{i}" + ("?utm_source=x" if n else "")
        )
        for n, feed in enumerate(feeds)
        for i in range(300)
    ]
    batches = split_batches(entries, 100)
    where = {}
    for number, batch in enumerate(batches):
        for entry in batch:
            where.setdefault(entry.link.split("?")[0], set()).add(number)
    assert len(where) == 300 and all(len(numbers) == 1 for numbers in where.values())
    assert sorted(e.guid for batch in batches for e in batch) == sorted(e.guid for e in entries)
    assert max(len(batch) for batch in batches) <= 100 + 2  # a batch grows only by the last page's repeats


SCRIPT_PARENT = """
import json
import prefect  # the parent's main module imports Prefect, as the CLI and Prefect's engine do
from bench.site import build_site
from flows.stages.articles import PageJob, build_articles, close_pool
from pathlib import Path


if __name__ == "__main__":
    site = build_site(52, "http://127.0.0.1:9", corpus=Path("/no-such-corpus"))
    jobs = [PageJob(url=site.page_path(i), final_url="http://127.0.0.1:9" + site.page_path(i),
                    body=site.page_body(i)) for i in range(site.page_count)]
    pooled = build_articles(jobs, workers=2)
    close_pool()
    print(json.dumps({"same": pooled == build_articles(jobs, workers=1), "built": len(pooled)}))
"""


def run_script(path: Path, text: str) -> dict:
    """Run `text` as a script at `path` in a fresh interpreter (exit 0 asserted); the JSON of its last line."""
    path.write_text(text, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_script_as_main_module_builds_on_the_pool(tmp_path):
    assert run_script(tmp_path / "parent_with_prefect.py", SCRIPT_PARENT) == {"same": True, "built": 52}


SCRIPT_EARLY_START = """
import json, os
from pathlib import Path
from bench.site import build_site
from flows.stages.articles import PageJob, build_articles, close_pool, start_workers_early

def fork_servers():
    found = 0
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        found += parent == os.getpid() and b"multiprocessing.forkserver" in command
    return found

if __name__ == "__main__":
    one_worker = start_workers_early(1)
    before = fork_servers()
    starter = start_workers_early(2)
    starter.join(240)
    started = fork_servers()
    site = build_site(52, "http://127.0.0.1:9", corpus=Path("/no-such-corpus"))
    jobs = [PageJob(url=site.page_path(i), final_url="http://127.0.0.1:9" + site.page_path(i),
                    body=site.page_body(i)) for i in range(site.page_count)]
    built = build_articles(jobs, workers=2)
    after_pool = fork_servers()
    close_pool()
    print(json.dumps({"one_worker": one_worker is None, "before": before, "started": started,
                      "after_pool": after_pool, "built": sum(o.article is not None for o in built)}))
    start_workers_early(2)  # and exit at once, as a run that found nothing to build does
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
@pytest.mark.slow
def test_ingest_starts_the_fork_server_early_and_the_pool_uses_it(tmp_path):
    report = run_script(tmp_path / "early_start.py", SCRIPT_EARLY_START)
    assert report["one_worker"] and report["before"] == 0  # one worker: nothing started
    assert report["started"] == 1 and report["after_pool"] == 1  # the pool forks from the early server
    assert report["built"] > 26


def test_fetched_pages_are_kept_compressed_from_arrival_to_the_worker(tmp_path):
    """The fetch hook packs each body as it arrives; the batch holds only compressed bodies, and the ledger the
    decoded sizes."""
    import hashlib

    from flows.http.fetch import FetchSettings, fetch_batch
    from flows.settings.config import load_config
    from flows.stages.batches import collect_pages, make_page_packer, plan_batch
    from transforms.page_bodies import ZSTD, decompress_body
    from warehouse.db import write_session
    from warehouse.migrate import apply_migrations

    server = SiteServer()
    site = build_site(6, server.origin, items_per_feed=6, corpus=NO_CORPUS)
    server.publish(site)
    db = tmp_path / "news.duckdb"
    with write_session(db) as connection:
        apply_migrations(connection)
    entries = [
        FeedEntry(
            feed_url=server.origin + site.feed_paths[0],
            guid=str(i),
            link=server.origin + site.page_path(i),
            title=f"Story {i}",
        )
        for i in range(6)
    ]
    with run_server(server):
        sources = write_sources(tmp_path / "sources.yaml", server.origin, site.feed_paths)
        config = load_config(str(sources))
        plan = plan_batch(entries, db, "run-1")
        packed: dict = {}
        settings = FetchSettings(allow_private_networks=True, per_host_delay_s=0)
        results = fetch_batch(plan.requests, settings, finish=make_page_packer(packed))
    assert all(result.ok and result.body == b"" for result in results)  # raw bytes dropped on arrival
    assert len(packed) == 6
    jobs = collect_pages(plan, results, config, packed)
    assert packed == {}  # handed over to the batch
    for index, (job, row, fetched) in enumerate(
        zip(jobs, plan.load.raw_pages, plan.load.fetches, strict=True)
    ):
        raw = site.page_body(index)
        assert (
            job.body is None and job.body_compressed is row["body_compressed"]
        )  # one compressed copy, shared
        assert job.body_codec == row["body_codec"] == ZSTD
        assert job.read_body() == raw == decompress_body(row["body_compressed"], ZSTD)
        assert len(row["body_compressed"]) < len(raw) / 2
        assert row["body_bytes"] == fetched["bytes"] == len(raw)
        assert row["body_hash"] == hashlib.sha256(raw).hexdigest()
