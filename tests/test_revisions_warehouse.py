"""Article revisions: an edited page served v1 then v2 on loopback; the warehouse keeps both versions."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from flows.ingest import ingest
from tests.conftest import SEEDS
from tests.sites import PlainHandler
from transforms.feeds import parse_feed
from transforms.hashing import hash_content
from warehouse.db import open_warehouse

PAGE = (
    SEEDS
    / "site/www.meridianwire.example/news/2016-05-03/dozens-killed-as-shelling-and-airstrikes-pound-divided-aleppo.html"
)
PAGE_PATH = "/news/2016-05-03/aleppo.html"
FIRST_SENTENCE = "BEIRUT (AP) —"
EDIT = "The death toll rose to 71 on Wednesday, rescue workers said, as the ceasefire collapsed."


def atom_feed(origin: str, updated: datetime) -> str:
    """An Atom feed with one entry whose <updated> says when the page last changed."""
    stamp = updated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Revision test</title>
  <id>{origin}/feed.atom</id>
  <updated>{stamp}</updated>
  <entry>
    <title>Dozens killed as shelling and airstrikes pound divided Aleppo</title>
    <id>tag:revision.example,2016:aleppo</id>
    <link rel="alternate" href="{origin}{PAGE_PATH}"/>
    <published>2016-05-03T08:00:00Z</published>
    <updated>{stamp}</updated>
  </entry>
</feed>
"""


@pytest.fixture(scope="module")
def revised(prefect_harness, tmp_path_factory):
    """Serve v1, ingest; serve v2 with a later <updated>, ingest; ingest once more unchanged."""
    root = tmp_path_factory.mktemp("revisions")
    site = root / "site"
    (site / "news/2016-05-03").mkdir(parents=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(PlainHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    sources = root / "sources.yaml"
    sources.write_text(
        yaml.safe_dump(
            {
                "allow_private_networks": True,
                "fetch": {"per_host_delay_s": 0},
                "feeds": [{"url": f"{origin}/feed.atom", "name": "Revision test", "language": "en"}],
            }
        ),
        encoding="utf-8",
    )
    db = root / "news.duckdb"
    page = site / PAGE_PATH.lstrip("/")
    feed = site / "feed.atom"
    try:
        shutil.copyfile(PAGE, page)
        feed.write_text(atom_feed(origin, datetime(2016, 5, 3, 8, 0, tzinfo=UTC)), encoding="utf-8")
        first = ingest(sources=str(sources), db=str(db))
        v1 = snapshot(db)
        html = PAGE.read_text(encoding="utf-8")
        assert FIRST_SENTENCE in html
        page.write_text(html.replace(FIRST_SENTENCE, f"{FIRST_SENTENCE} {EDIT}", 1), encoding="utf-8")
        feed.write_text(atom_feed(origin, datetime.now(UTC) + timedelta(seconds=1)), encoding="utf-8")
        second = ingest(sources=str(sources), db=str(db), force_poll=True)
        v2 = snapshot(db)
        third = ingest(sources=str(sources), db=str(db), force_poll=True)
        yield {"db": db, "runs": (first, second, third), "v1": v1, "v2": v2, "v3": snapshot(db)}
    finally:
        server.shutdown()
        server.server_close()


def snapshot(db: Path) -> dict:
    with open_warehouse(db, read_only=True) as connection:
        tables = [
            "articles",
            "article_versions",
            "article_signatures",
            "article_bands",
            "duplicates",
            "entries",
        ]
        return {
            t: connection.execute(f"SELECT * EXCLUDE (run_id) FROM {t} ORDER BY ALL").fetchall()
            if t not in {"article_signatures", "article_bands"}
            else connection.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in tables
        }


def query(db: Path, sql: str, params=None):
    with open_warehouse(db, read_only=True) as connection:
        return connection.execute(sql, params or []).fetchall()


def test_edited_page_keeps_both_versions(revised):
    db = revised["db"]
    assert [run["status"] for run in revised["runs"]] == ["completed"] * 3
    assert revised["runs"][1]["counts"]["entries_revised"] == 1
    ((article_id, text, content_hash, first_seen, updated),) = query(
        db, "SELECT article_id, text, content_hash, first_seen_at, updated_at FROM articles"
    )
    assert EDIT in text and content_hash == hash_content(text)
    assert updated > first_seen
    versions = query(
        db,
        "SELECT article_id, version, text, content_hash, seen_at, replaced_at, diff_summary FROM article_versions",
    )
    assert len(versions) == 1
    old_id, version, old_text, old_hash, seen_at, replaced_at, summary = versions[0]
    assert (old_id, version) == (article_id, 1)
    assert EDIT not in old_text and old_hash == hash_content(old_text) != content_hash
    assert seen_at == first_seen and replaced_at == updated
    added = len(EDIT.split())
    assert f"+{added} words, -0 words" in summary


def test_new_text_is_signed_again(revised):
    before = {row[0]: row for row in revised["v1"]["article_signatures"]}
    after = {row[0]: row for row in revised["v2"]["article_signatures"]}
    assert before.keys() == after.keys() and len(after) == 1
    (article_id,) = after
    assert after[article_id][5] != before[article_id][5]  # content_hash
    assert query(revised["db"], "SELECT count(*) FROM article_bands") == [(32,)]


def test_feed_update_time_is_recorded_on_the_entry(revised):
    (updated_at,) = query(revised["db"], "SELECT updated_at FROM entries")[0]
    assert updated_at > datetime(2020, 1, 1)


def test_running_again_changes_nothing(revised):
    assert revised["v3"] == revised["v2"]


def test_atom_updated_time_is_parsed():
    parsed = parse_feed(
        atom_feed("https://revision.example", datetime(2016, 5, 4, 7, 30, tzinfo=UTC)).encode(), "f"
    )
    assert parsed.entries[0].updated_at == datetime(2016, 5, 4, 7, 30, tzinfo=UTC)
    assert parsed.entries[0].published_at == datetime(2016, 5, 3, 8, 0, tzinfo=UTC)


def test_only_stored_entries_with_a_later_update_are_revised(tmp_path):
    from transforms.records import FeedEntry
    from warehouse.load import LoadBatch, load_batch
    from warehouse.migrate import apply_migrations
    from warehouse.revisions import select_revised_entries

    def entry(guid, updated):
        return FeedEntry("f", guid, f"https://a.example/{guid}", updated_at=updated)

    with open_warehouse(tmp_path / "w.duckdb") as connection:
        apply_migrations(connection)
        stored = [
            {
                "feed_url": "f",
                "guid": "dated",
                "first_seen_at": datetime(2016, 6, 1),
                "run_id": "r",
                "updated_at": datetime(2016, 6, 3),
            },
            {"feed_url": "f", "guid": "undated", "first_seen_at": datetime(2016, 6, 1), "run_id": "r"},
        ]
        load_batch(connection, LoadBatch("r", entries=stored))
        polled = [
            entry("dated", datetime(2016, 6, 3, tzinfo=UTC)),  # the same update again
            entry("undated", datetime(2016, 5, 30, tzinfo=UTC)),  # updated before it was first seen
            entry("unknown", datetime(2016, 6, 9, tzinfo=UTC)),  # not stored: the unseen-entry path's job
            entry("no-time", None),
        ]
        assert select_revised_entries(connection, polled) == set()
        later = [
            entry("dated", datetime(2016, 6, 4, tzinfo=UTC)),
            entry("undated", datetime(2016, 6, 2, tzinfo=UTC)),
        ]
        assert select_revised_entries(connection, later) == {("f", "dated"), ("f", "undated")}
        # Once loaded again, the later time is recorded and the same update is not followed twice.
        load_batch(connection, LoadBatch("r", entries=[{**stored[0], "updated_at": datetime(2016, 6, 4)}]))
        assert select_revised_entries(connection, later[:1]) == set()


def test_a_revision_loaded_twice_keeps_one_version(tmp_path):
    from transforms.near_dupes import compute_minhash
    from warehouse.load import LoadBatch, load_batch
    from warehouse.migrate import apply_migrations
    from warehouse.sql import read_sql

    def article_row(text, title):
        return {
            "article_id": "a1",
            "canonical_url": "https://a.example/1",
            "url": "https://a.example/1",
            "final_url": "https://a.example/1",
            "source": "a.example",
            "title": title,
            "published_at": datetime(2016, 5, 3, 8, 0),
            "language": "en",
            "text": text,
            "word_count": len(text.split()),
            "content_hash": hash_content(text),
            "first_seen_at": datetime(2016, 5, 3, 9, 0),
            "updated_at": datetime(2016, 5, 3, 9, 0),
            "extractor_version": "x",
            "cleaner_version": "1",
            "run_id": "r",
            "batch_rank": 0,
            "minhash": compute_minhash(text).astype("<u4").tobytes(),
        }

    first = article_row("Ten were killed in the shelling, rescuers said. " * 10, "Ten killed")
    edited = article_row("Twelve were killed in the shelling, rescuers said. " * 10, "Twelve killed")
    with open_warehouse(tmp_path / "w.duckdb") as connection:
        apply_migrations(connection)
        load_batch(connection, LoadBatch("r1", articles=[first]))
        # The same refetched page twice in one batch, then the whole batch again: one replaced text is kept.
        for _ in range(2):
            load_batch(connection, LoadBatch("r2", revised_articles=[edited, dict(edited)]))
        versions = connection.execute("SELECT article_id, version, title FROM article_versions").fetchall()
        assert versions == [("a1", 1, "Ten killed")]
        assert connection.execute("SELECT title FROM articles").fetchall() == [("Twelve killed",)]
        # The insert itself skips a stored (article_id, version).
        replaced = connection.execute("SELECT * FROM article_versions").to_arrow_table()
        connection.register("replaced_versions", replaced)
        connection.execute(read_sql("insert_article_versions"))
        assert connection.execute("SELECT count(*) FROM article_versions").fetchone() == (1,)
