"""Writer and readers in separate processes never block each other; a writer meeting a held lock waits."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from flows.cli import main
from tests.seeded import make_small_warehouse
from warehouse.snapshot import publish_snapshot, read_snapshot_info, snapshot_path_for

REPO = Path(__file__).resolve().parent.parent

# Opens a file read-only and keeps it open, printing the row count of table argv[2] at start and for each line
# read from stdin.
READER = textwrap.dedent("""
    import sys, duckdb
    connection = duckdb.connect(sys.argv[1], read_only=True)
    query = f"SELECT count(*) FROM {sys.argv[2]}"
    print("ready", connection.execute(query).fetchone()[0], flush=True)
    for _ in sys.stdin:
        print(connection.execute(query).fetchone()[0], flush=True)
    connection.close()
""")

# Takes the write lock on the live file, says so, and holds it for argv[2] seconds.
HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    connection = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    connection.close()
""")


def start(script: str, *args: str) -> subprocess.Popen:
    """Start a helper Python process from this repository."""
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def served_warehouse(prefect_harness, tmp_path):
    """A seed site kept up for the test, and a warehouse (with snapshot) ingested from it once."""
    from flows.ingest import ingest
    from tests.sites import serve_seed_site

    with serve_seed_site(tmp_path / "site") as site:
        db_path = tmp_path / "news.duckdb"
        ingest(sources=str(site.sources_path), db=str(db_path))
        yield site, db_path


def add_feed_item(site) -> None:
    """Publish one more story on the seed site: a copy of a feed's first page, as a new item of that feed."""
    feed = next(site.root.rglob("*.xml"))
    text = feed.read_text(encoding="utf-8")
    first_link = text.split("<item>", 1)[1].split("<link>", 1)[1].split("</link>", 1)[0]
    host, origin = next((h, o) for h, o in site.origins.items() if first_link.startswith(o + "/"))
    page = site.root / host / first_link[len(origin) + 1 :]
    new_page = page.with_name("late-edition-" + page.name)
    new_page.write_text(page.read_text(encoding="utf-8").replace("<title>", "<title>Late edition: ", 1),
                        encoding="utf-8")
    new_link = first_link.rsplit("/", 1)[0] + "/" + new_page.name
    item = f"<item><title>Late edition</title><link>{new_link}</link><guid>{new_link}</guid></item>"
    feed.write_text(text.replace("<item>", item + "<item>", 1), encoding="utf-8")


def test_ingest_runs_while_another_process_reads_the_snapshot(served_warehouse):
    from flows.ingest import ingest

    site, db_path = served_warehouse
    add_feed_item(site)  # so that the run loads rows and publishes a new snapshot
    snapshot = snapshot_path_for(db_path)
    old_inode = snapshot.stat().st_ino
    reader = start(READER, str(snapshot), "fetches")
    try:
        ready, count_before = reader.stdout.readline().split()
        assert ready == "ready"
        # The writer: a full ingest run (polls, loads, publishes a new snapshot) while the reader holds the old one.
        summary = ingest(sources=str(site.sources_path), db=str(db_path), force_poll=True)
        assert summary["status"] == "completed"
        assert summary["counts"]["loaded_entries"] == 1
        assert (summary["counts"]["snapshot_published"], summary["counts"]["snapshot_reason"]) == (1, "changed")
        reader.stdin.write("count\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == count_before  # still its own consistent snapshot
    finally:
        reader.stdin.close()
        assert reader.wait(timeout=60) == 0, reader.stderr.read()
    assert snapshot.stat().st_ino != old_inode
    with duckdb.connect(str(snapshot), read_only=True) as connection:
        runs = connection.execute("SELECT count(*) FROM runs WHERE status = 'completed'").fetchone()[0]
        fetches = connection.execute("SELECT count(*) FROM fetches").fetchone()[0]
    assert runs == 2  # the new snapshot has the second run and its polls
    assert fetches > int(count_before)


def test_ingest_that_changes_nothing_keeps_the_published_snapshot(served_warehouse):
    from flows.ingest import ingest

    site, db_path = served_warehouse
    snapshot = snapshot_path_for(db_path)
    old_inode = snapshot.stat().st_ino
    summary = ingest(sources=str(site.sources_path), db=str(db_path), force_poll=True)
    assert summary["status"] == "completed"
    assert summary["counts"]["feeds_unchanged"] == summary["counts"]["feeds_due"] > 0
    assert (summary["counts"]["snapshot_published"], summary["counts"]["snapshot_reason"]) == (0, "unchanged")
    assert snapshot.stat().st_ino == old_inode  # not republished
    with duckdb.connect(str(db_path), read_only=True) as connection:
        reason = connection.execute(
            "SELECT json_extract_string(counts, '$.snapshot_reason') FROM runs WHERE run_id = ?",
            [summary["run_id"]],
        ).fetchone()[0]
    assert reason == "unchanged"


def test_writer_meeting_a_held_lock_retries_then_succeeds(tmp_path, caplog):
    live = make_small_warehouse(tmp_path / "news.duckdb", snapshot=False)
    holder = start(HOLDER, str(live), "1.5")
    try:
        assert holder.stdout.readline().strip() == "locked"
        with caplog.at_level(logging.WARNING, logger="newsdesk.warehouse"):
            target = publish_snapshot(live, wait_s=60)
    finally:
        assert holder.wait(timeout=60) == 0, holder.stderr.read()
    waits = [r.getMessage() for r in caplog.records if "is locked by" in r.getMessage()]
    assert waits and all(f"PID {holder.pid}" in message for message in waits)
    with duckdb.connect(str(target), read_only=True) as connection:
        assert read_snapshot_info(connection)["indexed_articles"] == 3


def test_sql_reads_the_snapshot_while_the_writer_holds_the_live_file(tmp_path, capsys):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    holder = start(HOLDER, str(live), "600")
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main(["sql", "SELECT count(*) AS n FROM articles", "--db", str(live), "--format", "csv"]) == 0
        assert capsys.readouterr().out.splitlines() == ["n", "4"]
    finally:
        holder.kill()
        holder.wait(timeout=60)


def test_reader_processes_do_not_block_each_other_on_the_snapshot(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    readers = [start(READER, str(snapshot_path_for(live)), "articles") for _ in range(2)]
    try:
        assert [r.stdout.readline().split() for r in readers] == [["ready", "4"], ["ready", "4"]]
        publish_snapshot(live)  # the writer side is not blocked by them either
    finally:
        for reader in readers:
            reader.stdin.close()
            assert reader.wait(timeout=60) == 0, reader.stderr.read()
    assert os.path.exists(snapshot_path_for(live))
