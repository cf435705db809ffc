"""Several processes on one lake: two ingests write at once while a reader queries; a killed run is re-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from bench.site import SiteHandler, SiteServer, build_site, run_server, write_sources
from warehouse.db import open_warehouse
from warehouse.migrate import list_migrations

REPO = Path(__file__).resolve().parent.parent
NO_CORPUS = REPO / "no-such-corpus"  # the bench site from the seed pages, whatever ../shared holds
PAGES, ITEMS_PER_FEED = 120, 20  # six feeds of twenty pages each

# Queries the lake read-only, over and over, until the file named by argv[2] appears; prints how many queries
# ran and the article counts it saw. Any other error ends it with a traceback (a non-zero exit).
READER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import duckdb
    from warehouse.db import open_warehouse
    db, stop = sys.argv[1], Path(sys.argv[2])
    seen = []
    while not stop.exists():
        try:
            connection = open_warehouse(db, read_only=True)
        except FileNotFoundError:  # the writers have not made the lake yet
            time.sleep(0.05)
            continue
        with connection:
            try:
                seen.append(connection.execute(
                    "SELECT count(*) FROM articles JOIN article_refs USING (article_id)").fetchone()[0])
            except duckdb.CatalogException:  # no tables yet: only before the first migration commits
                if seen:
                    raise
        time.sleep(0.02)
    print(len(seen), " ".join(map(str, seen)))
""")


class SlowPages(SiteHandler):
    """The bench site, a little slow on article pages, so that a run lasts long enough to be interrupted."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        """Wait, then answer as the bench site does."""
        if self.path.endswith(".html"):
            time.sleep(0.15)
        super().do_GET()


@pytest.fixture
def site(tmp_path):
    """The bench site (six feeds of twenty pages) on loopback."""
    server = SiteServer()
    server.RequestHandlerClass = SlowPages
    server.publish(build_site(PAGES, server.origin, items_per_feed=ITEMS_PER_FEED, corpus=NO_CORPUS))
    with run_server(server):
        yield server


def sources_for(path: Path, server: SiteServer, feed_paths: list[str]) -> Path:
    """A sources file for these feeds: batches of ten pages, two connections, so each run takes seconds."""
    write_sources(path, server.origin, feed_paths, batch_size=10)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["fetch"].update({"per_host_connections": 2, "max_connections": 2})
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def start_ingest(sources: Path, db: Path | str, api_url: str) -> subprocess.Popen:
    """`newsdesk ingest` in a process of its own, on the session's Prefect server."""
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "ingest", "--sources", str(sources), "--db", str(db)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 600) -> str:
    """Wait for a process; fail with its stderr unless it succeeded; return its stdout."""
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return out


def stored(db: Path | str) -> dict[str, list[tuple]]:
    """What a run leaves that must not depend on how it was run: articles, entries, refs, tags, duplicates."""
    queries = {
        "articles": "SELECT article_id, canonical_url, content_hash FROM articles",
        "entries": "SELECT feed_url, guid, link FROM entries",
        "article_refs": "SELECT article_id, feed_url, guid FROM article_refs",
        "article_topics": "SELECT article_id, topic_id, score FROM article_topics",
        "duplicates": "SELECT article_id, duplicate_of, method FROM duplicates",
        "pending_entries": "SELECT feed_url, guid FROM pending_entries",
    }
    with open_warehouse(db, read_only=True) as connection:
        return {name: sorted(connection.execute(sql).fetchall()) for name, sql in queries.items()}


@pytest.fixture(params=["sqlite", "postgres"])
def lake_db(request, tmp_path, monkeypatch) -> Path | str:
    """The `--db` of an empty warehouse: the embedded SQLite catalog, or a PostgreSQL one with shared data."""
    if request.param == "sqlite":
        return tmp_path / "news.duckdb"
    monkeypatch.setenv("NEWSDESK_LAKE_DATA_PATH", str(tmp_path / "shared" / "lake.files"))
    return request.getfixturevalue("postgres_uri")


@pytest.mark.slow
def test_two_ingests_write_one_lake_at_once_while_a_reader_queries(prefect_harness, site, tmp_path, lake_db):
    feeds = site.site.feed_paths
    db = lake_db
    stop = tmp_path / "stop-reading"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db), str(stop)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = start_ingest(sources_for(tmp_path / "a.yaml", site, feeds[:3]), db, prefect_harness)
    second = start_ingest(sources_for(tmp_path / "b.yaml", site, feeds[3:]), db, prefect_harness)
    finish(first)
    finish(second)
    stop.touch()
    queries, *counts = finish(reader, timeout=60).split()
    rows = stored(db)
    assert len(rows["entries"]) == PAGES and len(set(rows["entries"])) == PAGES
    assert len(rows["articles"]) == len({row[0] for row in rows["articles"]}) == PAGES  # each once
    assert len(rows["article_refs"]) == PAGES
    assert rows["pending_entries"] == []
    assert int(queries) > 0
    seen = [int(count) for count in counts]
    assert seen == sorted(seen)  # the reader only ever saw whole batches arrive, never one go away
    with open_warehouse(db, read_only=True) as connection:
        runs = connection.execute("SELECT status, lake_snapshot FROM runs ORDER BY finished_at").fetchall()
    assert [status for status, _ in runs] == ["completed", "completed"]
    assert all(snapshot is not None for _, snapshot in runs)


@pytest.mark.slow
def test_a_run_killed_mid_batch_then_run_again_leaves_what_one_clean_run_leaves(
    prefect_harness, site, tmp_path
):
    sources = sources_for(tmp_path / "sources.yaml", site, site.site.feed_paths)
    clean, killed = tmp_path / "clean" / "news.duckdb", tmp_path / "killed" / "news.duckdb"
    finish(start_ingest(sources, clean, prefect_harness))
    run = start_ingest(sources, killed, prefect_harness)
    loaded = wait_for_articles(killed, run)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=60)
    assert 0 < loaded < PAGES  # it really died mid-run
    finish(start_ingest(sources, killed, prefect_harness))
    assert stored(killed) == stored(clean)


def wait_for_articles(db: Path, run: subprocess.Popen, timeout_s: float = 300) -> int:
    """Wait until the run has loaded at least one batch; return how many articles the lake holds then."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert run.poll() is None, "the run ended before it could be killed"
        try:
            with open_warehouse(db, read_only=True) as connection:
                count = connection.execute("SELECT count(*) FROM articles").fetchone()[0]
        except Exception:  # noqa: BLE001 - the lake may not have its tables yet
            count = 0
        if count:
            return count
        time.sleep(0.05)
    raise AssertionError("no batch was loaded in time")


# Waits for the go file, then opens the warehouse (making the lake if it is not there) and migrates it.
CREATOR = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from warehouse.db import write_session
    from warehouse.migrate import apply_migrations
    while not Path(sys.argv[2]).exists():
        time.sleep(0.005)
    with write_session(sys.argv[1]) as connection:
        print(apply_migrations(connection))
""")


@pytest.mark.slow
def test_processes_making_one_new_warehouse_at_once_all_succeed(tmp_path, lake_db):
    go = tmp_path / "go"
    creators = [
        subprocess.Popen(
            [sys.executable, "-c", CREATOR, str(lake_db), str(go)],
            cwd=REPO,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    time.sleep(1.0)  # every process imported and waiting
    go.touch()
    versions = {finish(creator, timeout=300).strip() for creator in creators}
    assert len(versions) == 1
    with open_warehouse(lake_db, read_only=True) as connection:
        applied = connection.execute(
            "SELECT count(*), count(DISTINCT version) FROM schema_version"
        ).fetchone()
        assert applied == (len(list_migrations()), len(list_migrations()))  # each migration applied once
        assert connection.execute("SELECT count(*) FROM write_ticket").fetchone()[0] == 1
