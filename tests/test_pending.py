"""Entries polled but not loaded: kept as pending, taken over by the next run, given up with a reason."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest

from flows.http.fetch import FetchSettings
from flows.settings.config import load_config
from flows.stages.batches import entry_row
from flows.stages.poll import poll_feeds
from transforms.pending import MAX_RESUMES, plan_pending
from transforms.records import FeedEntry
from warehouse.db import open_warehouse, transaction, write_session
from warehouse.load import LoadBatch, load_batch

try:
    from faultserver import FaultServer, Reply, RequestInfo, conditional
except ImportError:
    from tests.faultserver import FaultServer, Reply, RequestInfo, conditional

REPO = Path(__file__).resolve().parent.parent
SEED_PAGES = sorted((REPO / "seeds" / "site").rglob("*.html"))
NOW = datetime(2026, 11, 26, 12, 0)


def rss(links: list[str]) -> bytes:
    """An RSS document with one item per link (its guid is the link)."""
    items = "".join(
        f"<item><title>Story {i}</title><link>{u}</link><guid>{u}</guid></item>" for i, u in enumerate(links)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Desk</title>{items}</channel></rss>'.encode()


def entry(guid: str, title: str = "t") -> FeedEntry:
    """A feed entry of feed F."""
    return FeedEntry(
        feed_url="https://f.example/rss", guid=guid, link=f"https://f.example/{guid}", title=title
    )


def stored_row(guid: str, resumed: int, title: str = "old") -> dict:
    """A pending row as the warehouse returns it."""
    return {
        "feed_url": "https://f.example/rss",
        "guid": guid,
        "link": f"https://f.example/{guid}",
        "title": title,
        "summary": None,
        "published_at": datetime(2026, 11, 25, 8, 0),
        "error": None,
        "updated_at": None,
        "run_id": "earlier",
        "polled_at": NOW - timedelta(hours=1),
        "resumed": resumed,
    }


def test_plan_takes_over_rows_not_polled_again_and_keeps_counts():
    plan = plan_pending(
        [stored_row("a", 0), stored_row("b", 1)], [entry("b", "new"), entry("c")], "run-2", NOW
    )
    assert [e.guid for e in plan.resumed] == ["a"]
    assert plan.resumed[0].published_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    rows = {row["guid"]: row for row in plan.rows}
    assert set(rows) == {"a", "b", "c"} and {row["run_id"] for row in rows.values()} == {"run-2"}
    assert (rows["a"]["resumed"], rows["b"]["resumed"], rows["c"]["resumed"]) == (1, 2, 0)
    assert rows["b"]["title"] == "new"  # the version polled now
    assert (
        rows["a"]["polled_at"] == rows["b"]["polled_at"] == NOW - timedelta(hours=1)
        and rows["c"]["polled_at"] == NOW
    )
    assert plan.given_up == []


def test_plan_gives_up_an_entry_after_max_resumes():
    plan = plan_pending([stored_row("a", MAX_RESUMES), stored_row("b", MAX_RESUMES - 1)], [], "run-9", NOW)
    assert [row["guid"] for row in plan.given_up] == ["a"]
    assert [e.guid for e in plan.resumed] == ["b"] and [row["guid"] for row in plan.rows] == ["b"]


def test_plan_holds_entries_of_a_host_until_its_due_time_without_counting_a_take_over():
    due = NOW + timedelta(minutes=30)
    stored = [
        {**stored_row("a", 1), "due_at": due},  # its page's host answered Retry-After
        stored_row("b", 0),  # same host, left by a run that ended early
        {**stored_row("c", 0), "link": "https://other.example/c"},
    ]
    polled = [entry("d"), replace(entry("e"), link="https://other.example/e")]
    plan = plan_pending(stored, polled, "run-2", NOW)
    assert sorted(e.guid for e in plan.held) == ["a", "b", "d"]
    assert sorted(e.guid for e in plan.fetched) == ["c", "e"] and [e.guid for e in plan.resumed] == ["c"]
    rows = {row["guid"]: row for row in plan.rows}
    assert {g: (rows[g]["due_at"], rows[g]["resumed"]) for g in "abd"} == {
        "a": (due, 1),
        "b": (due, 0),
        "d": (due, 0),
    }
    assert rows["c"]["due_at"] is None and rows["e"]["due_at"] is None
    later = plan_pending(stored, polled, "run-3", due + timedelta(seconds=1))  # the time has come
    assert later.held == [] and sorted(e.guid for e in later.fetched) == list("abcde")


def poll(tmp_path, db, url: str, run_id: str):
    """Poll one feed (always due)."""
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"allow_private_networks: true\nfeeds:\n  - url: {url}\n")
    settings = FetchSettings(allow_private_networks=True, per_host_delay_s=0.0, respect_robots=False)
    return poll_feeds(load_config(sources), db, run_id, settings, force=True)


def query(db, sql: str):
    """Rows of a query on the warehouse file."""
    with open_warehouse(db, read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_entries_of_a_run_that_never_loaded_them_come_back_after_a_304(tmp_path, server, warehouse):
    links = [f"https://news.example/{g}" for g in "abc"]
    url = server.route("/feed.xml", conditional(rss(links)))
    first = poll(tmp_path, warehouse, url, "run-1")
    assert first.counts["entries_new"] == 3 and first.counts["entries_resumed"] == 0
    assert query(warehouse, "SELECT guid, run_id, resumed FROM pending_entries ORDER BY guid") == [
        (link, "run-1", 0) for link in links
    ]
    # run-1 ends here without loading anything; run-2's poll gets a 304 and still has the three entries.
    second = poll(tmp_path, warehouse, url, "run-2")
    assert second.counts["feeds_unchanged"] == 1
    assert second.counts["entries_new"] == 0 and second.counts["entries_resumed"] == 3
    assert sorted(e.link for e in second.entries) == links
    assert query(warehouse, "SELECT DISTINCT run_id, resumed FROM pending_entries") == [("run-2", 1)]
    # run-2 loads two of them: only the third stays pending.
    rows = [entry_row(e, "run-2", NOW) for e in second.entries if e.link != links[2]]
    with write_session(warehouse) as connection:
        load_batch(connection, LoadBatch(run_id="run-2", entries=rows))
    assert query(warehouse, "SELECT link FROM pending_entries") == [(links[2],)]
    third = poll(tmp_path, warehouse, url, "run-3")
    assert [e.link for e in third.entries] == [links[2]] and third.counts["entries_resumed"] == 1


def test_an_entry_no_run_manages_to_load_is_given_up_with_a_failure_row(tmp_path, server, warehouse):
    url = server.route("/feed.xml", conditional(rss(["https://news.example/x"])))
    for number in range(1 + MAX_RESUMES):
        polled = poll(tmp_path, warehouse, url, f"run-{number}")
        assert [e.link for e in polled.entries] == ["https://news.example/x"]
    last = poll(tmp_path, warehouse, url, "run-last")
    assert last.entries == [] and last.counts["entries_resumed"] == 0
    assert query(warehouse, "SELECT count(*) FROM pending_entries") == [(0,)]
    rows = query(warehouse, "SELECT run_id, stage, reason, url, retry->>'$.guid', detail FROM failures")
    assert [row[:5] for row in rows] == [
        ("run-last", "poll", "entry_abandoned", "https://news.example/x", "https://news.example/x")
    ]
    assert rows[0][5].startswith(f"{MAX_RESUMES + 1} runs ended before loading it")


def test_pending_rows_roll_back_with_a_failed_load(warehouse):
    from warehouse.pending import replace_pending_entries

    row = stored_row("a", 0)
    with write_session(warehouse) as connection:
        replace_pending_entries(connection, [row], [row["feed_url"]])
        with pytest.raises(duckdb.Error), transaction(connection):
            connection.execute("DELETE FROM pending_entries")
            connection.execute("SELECT * FROM no_such_table")
    assert query(warehouse, "SELECT guid FROM pending_entries") == [("a",)]


def test_a_run_reads_and_replaces_only_its_own_feeds_pending_entries(warehouse):
    from warehouse.pending import read_pending_entries, replace_pending_entries

    ours, theirs = stored_row("a", 0), {**stored_row("b", 0), "feed_url": "https://other.example/rss"}
    with write_session(warehouse) as connection:
        replace_pending_entries(connection, [ours, theirs], [ours["feed_url"], theirs["feed_url"]])
        # Another run (another sources file or shard) polls only f.example: it neither resumes nor drops b.
        assert [row["guid"] for row in read_pending_entries(connection, [ours["feed_url"]])] == ["a"]
        replace_pending_entries(connection, [], [ours["feed_url"]])
    assert query(warehouse, "SELECT feed_url, guid FROM pending_entries") == [(theirs["feed_url"], "b")]


INGEST = """
import sys
from flows.cli import main
sys.exit(main(["ingest", "--sources", sys.argv[1], "--db", sys.argv[2]]))
"""


def test_a_killed_ingest_loses_no_entry(prefect_harness, tmp_path, server):
    """An ingest killed while fetching leaves its feed answering 304; the next run still loads every page."""
    from flows.ingest import ingest

    held = threading.Event()
    pages = SEED_PAGES[:6]
    links = []
    for number, page in enumerate(pages):
        body = page.read_bytes()
        reply = Reply(200, {"content-type": "text/html; charset=utf-8"}, body)
        if number == 3:  # this page hangs until the test lets it go: the first run is killed meanwhile

            def hang(_info: RequestInfo, reply: Reply = reply) -> Reply:
                held.wait(120)
                return reply

            links.append(server.route(f"/story/{number}.html", hang))
        else:
            links.append(server.route(f"/story/{number}.html", reply))
    feed = server.route("/feed.xml", conditional(rss(links)))
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"allow_private_networks: true\nfetch:\n  per_host_delay_s: 0\n  respect_robots: false\n"
        f"feeds:\n  - url: {feed}\n",
        encoding="utf-8",
    )
    db = tmp_path / "news.duckdb"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": prefect_harness,  # the session's server: a temporary one of its own times out under load
    }
    child = subprocess.Popen(
        [sys.executable, "-c", INGEST, str(sources), str(db)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not server.hits("/story/3.html") and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.hits("/story/3.html"), "the first run never fetched the held page"
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        held.set()
    assert query(db, "SELECT count(*) FROM articles") == [(0,)]
    summary = ingest(sources=str(sources), db=str(db), force_poll=True)
    assert summary["status"] == "completed"
    assert summary["counts"]["feeds_unchanged"] == 1 and summary["counts"]["entries_resumed"] == len(links)
    stored = {row[0] for row in query(db, "SELECT url FROM articles")}
    assert stored == set(links)
    assert query(db, "SELECT count(*) FROM pending_entries") == [(0,)]


def test_the_run_summary_shows_resumed_entries_only_when_there_were_some():
    from flows.stages.summary import summary_pairs

    quiet = dict(summary_pairs({"counts": {"entries_new": 3}, "failures": {}}))
    assert "entries left by an earlier run" not in quiet and quiet["entries new"] == "3"
    resumed = dict(summary_pairs({"counts": {"entries_new": 0, "entries_resumed": 6}, "failures": {}}))
    assert resumed["entries left by an earlier run"] == "6"


def test_the_run_summary_shows_pages_left_for_a_waiting_host_only_when_there_were_some():
    from flows.stages.summary import summary_pairs

    assert "pages left pending (host asked to wait)" not in dict(summary_pairs({"counts": {}, "failures": {}}))
    deferred = dict(summary_pairs({"counts": {"pages_deferred": 6}, "failures": {}}))
    assert deferred["pages left pending (host asked to wait)"] == "6"


def page_reply(page: Path) -> Reply:
    """A seed page served as UTF-8 HTML."""
    return Reply(200, {"content-type": "text/html; charset=utf-8"}, page.read_bytes())


def pending_due(db) -> dict[str, datetime | None]:
    """Link → due_at of every pending entry."""
    return dict(query(db, "SELECT link, due_at FROM pending_entries"))


@pytest.mark.timeout(600, method="thread")  # before the fix the run waited out the Retry-After hour
def test_a_rate_limited_host_is_left_pending_until_its_retry_after(prefect_harness, tmp_path, server):
    """One page answers 429 Retry-After: 3600 on a host that serves six good pages, beside another host:
    the run ends, the page and the host's pages not yet fetched stay pending with the time they are due,
    the next run before then asks the host nothing, and the first run after it loads them."""
    from flows.http.politeness import HOST_SCHEDULE
    from flows.ingest import ingest

    busy_path = "/story/busy.html"
    busy = server.route(busy_path, Reply(429, {"retry-after": "3600"}, b""))
    good = [server.route(f"/story/{n}.html", page_reply(page)) for n, page in enumerate(SEED_PAGES[:6])]
    with FaultServer(host="127.0.0.2") as other:
        elsewhere = [other.route(f"/story/{n}.html", page_reply(p)) for n, p in enumerate(SEED_PAGES[6:8])]
        feed = server.route("/feed.xml", conditional(rss([busy, *good, *elsewhere])))
        sources = tmp_path / "sources.yaml"
        sources.write_text(f"allow_private_networks: true\nfeeds:\n  - url: {feed}\n", encoding="utf-8")
        db = tmp_path / "news.duckdb"
        before = datetime.now(UTC).replace(tzinfo=None)
        first = ingest(sources=str(sources), db=str(db))
        after = datetime.now(UTC).replace(tzinfo=None)
        assert first["status"] == "completed"
        loaded = {row[0] for row in query(db, "SELECT url FROM articles")}
        due = pending_due(db)
        assert set(elsewhere) <= loaded and len(server.hits(busy_path)) == 1
        # Every good page of the busy host was either fetched before the 429 or left pending, unrequested.
        assert busy in due and set(good) <= loaded | set(due) and not loaded & set(due)
        hour = timedelta(seconds=3600)
        assert all(before + hour <= due_at <= after + hour for due_at in due.values())
        assert all(not server.hits(urlsplit(url).path) for url in due if url != busy)
        assert first["counts"]["pages_deferred"] == len(due)
        assert query(db, "SELECT count(*) FROM failures WHERE stage = 'fetch'") == [(0,)]

        # A new process (no schedule in memory) before the due time: the host is not asked again.
        HOST_SCHEDULE.clear()
        hits_before = len(server.requests)
        second = ingest(sources=str(sources), db=str(db), force_poll=True)
        assert second["status"] == "completed" and second["counts"]["entries_deferred"] == len(due)
        assert [hit.path for hit in server.requests[hits_before:]] == ["/feed.xml"]
        assert pending_due(db) == due
        assert query(db, "SELECT DISTINCT resumed FROM pending_entries") == [(0,)]

        # Once the time has come, the next run fetches them all.
        with open_warehouse(db) as connection:
            connection.execute("UPDATE pending_entries SET due_at = due_at - INTERVAL 2 HOUR")
        server.route(busy_path, page_reply(SEED_PAGES[8]))
        HOST_SCHEDULE.clear()
        third = ingest(sources=str(sources), db=str(db), force_poll=True)
        assert third["status"] == "completed" and third["counts"]["entries_resumed"] == len(due)
        assert {row[0] for row in query(db, "SELECT url FROM articles")} == {busy, *good, *elsewhere}
        assert pending_due(db) == {} and len(server.hits(busy_path)) == 2
