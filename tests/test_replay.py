"""Replay of the failure ledger: failed pages and damaged WARC records retried through the same path."""

from __future__ import annotations

import json
import shutil
import zlib
from datetime import date
from pathlib import Path

from flows.backfill import backfill
from flows.ingest import ingest
from flows.replay import replay
from flows.stages.warc import read_warc
from transforms.page_bodies import decompress_body
from warehouse.db import open_warehouse
from warehouse.page_files import pages_dir_for, read_page_bodies

REPO = Path(__file__).resolve().parent.parent
MONTH = REPO / "seeds" / "archive" / "2016" / "05"


def query(db: Path, sql: str) -> list[tuple]:
    """Run a read-only query against the warehouse file."""
    with open_warehouse(db, read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_replay_loads_a_page_that_failed_and_closes_its_failure(prefect_harness, seed_site, tmp_path) -> None:
    page = next(seed_site.root.glob("www.meridianwire.example/news/2016-05-27/*.html"))
    hidden = tmp_path / "hidden.html"
    shutil.move(page, hidden)
    db = tmp_path / "news.duckdb"
    ingest(sources=str(seed_site.sources_path), db=str(db))
    failed_url = seed_site.url("https://www.meridianwire.example/" + page.relative_to(
        seed_site.root / "www.meridianwire.example").as_posix())
    assert query(db, f"SELECT stage, reason FROM failures WHERE url = '{failed_url}' AND resolved_at IS NULL") == [
        ("fetch", "http_404")]
    open_before = query(db, "SELECT count(*) FROM failures WHERE resolved_at IS NULL")[0][0]
    articles_before = query(db, "SELECT count(*) FROM articles")[0][0]

    # still missing: the failure stays open with its first row, and no new row is added
    first = replay(sources=str(seed_site.sources_path), db=str(db))
    assert query(db, f"SELECT count(*) FROM failures WHERE url = '{failed_url}'") == [(1,)]
    assert first["counts"]["open_page"] >= 1

    shutil.move(hidden, page)
    replay(sources=str(seed_site.sources_path), db=str(db))
    assert query(db, f"SELECT count(*) FROM articles WHERE url = '{failed_url}'") == [(1,)]
    assert query(db, "SELECT count(*) FROM articles")[0][0] == articles_before + 1
    assert query(db, f"SELECT resolved_at IS NOT NULL FROM failures WHERE url = '{failed_url}'") == [(True,)]
    # the seed site's other failures (a page that is really gone, an entry without a link) stay open
    assert query(db, "SELECT count(*) FROM failures WHERE resolved_at IS NULL")[0][0] == open_before - 1
    runs = [row[0] for row in query(db, "SELECT flow FROM runs ORDER BY started_at")]
    assert runs == ["ingest", "replay", "replay"]


def test_replay_reads_a_repaired_warc_record(prefect_harness, tmp_path) -> None:
    name = "CC-NEWS-20160525132200-00003.warc.gz"
    folder = tmp_path / "archive" / "2016" / "05"
    folder.mkdir(parents=True)
    good = (MONTH / name).read_bytes()
    offset = next(iter(read_warc(MONTH / name))).offset
    damaged = bytearray(good)
    damaged[offset + 30 : offset + 90] = b"\xff" * 60
    (folder / name).write_bytes(bytes(damaged))
    db = tmp_path / "news.duckdb"
    backfill(start=date(2016, 5, 25), end=date(2016, 5, 25), archive=str(tmp_path / "archive"), db=str(db))
    assert query(db, "SELECT count(*) FROM articles") == [(0,)]
    assert query(db, "SELECT stage, reason FROM failures WHERE resolved_at IS NULL") == [("warc", "corrupt_gzip")]

    (folder / name).write_bytes(good)  # the archive was fetched again, intact
    summary = replay(db=str(db))
    assert summary["still_open"] == 0
    assert query(db, "SELECT count(*) FROM articles") == [(1,)]


def forget_article(db: Path, article_id: str) -> None:
    """Remove an article from every table that names it, as if it had never been built."""
    with open_warehouse(db) as connection:
        tables = [row[0] for row in connection.execute(
            "SELECT DISTINCT table_name FROM duckdb_columns() WHERE column_name = 'article_id' "
            "AND table_name IN (SELECT table_name FROM duckdb_tables())").fetchall()]
        for table in tables:
            connection.execute(f"DELETE FROM {table} WHERE article_id = ?", [article_id])


def test_replay_rebuilds_failed_pages_from_their_stored_bodies_of_either_codec(
    prefect_harness, seed_site, tmp_path
) -> None:
    db = tmp_path / "news.duckdb"
    ingest(sources=str(seed_site.sources_path), db=str(db))
    stored = query(db, "SELECT a.article_id, a.url, a.feed_url, e.guid, a.text, a.content_hash, r.body_file "
                       "FROM articles a JOIN raw_pages r USING (url) JOIN entries e ON e.link = a.url "
                       "WHERE r.body_compressed IS NULL ORDER BY a.url LIMIT 2")
    assert len(stored) == 2
    zstd_row, old_row = stored
    old_body, codec = read_page_bodies(pages_dir_for(db), [(old_row[1], old_row[6])])[old_row[1]]
    with open_warehouse(db) as connection:
        # The first page stays in its page file; the second as an older newsdesk stored it: zlib, in the table
        # (which migration 0005 marked as such, and 0006 left there).
        connection.execute("UPDATE raw_pages SET body_compressed = ?, body_codec = 'zlib', body_file = NULL "
                           "WHERE url = ?", [zlib.compress(decompress_body(old_body, codec), 1), old_row[1]])
        for _, url, feed_url, guid, *_ in stored:
            connection.execute(
                "INSERT INTO failures VALUES ('r0', 'extract', ?, ?, 'extract_error', 'a worker crashed', ?, now(), NULL)",
                [url, feed_url, json.dumps({"guid": guid, "link": url})])
    for row in stored:
        forget_article(db, row[0])
    urls = "', '".join(row[1] for row in stored)
    fetched_before = query(db, f"SELECT count(*) FROM fetches WHERE kind = 'page' AND url IN ('{urls}')")

    summary = replay(sources=str(seed_site.sources_path), db=str(db))

    assert summary["counts"]["pages_from_store"] == 2
    # nothing refetched
    assert query(db, f"SELECT count(*) FROM fetches WHERE kind = 'page' AND url IN ('{urls}')") == fetched_before
    for article_id, url, _, _, text, content_hash, _ in stored:
        assert query(db, f"SELECT article_id, text, content_hash FROM articles WHERE url = '{url}'") == [
            (article_id, text, content_hash)]
        assert query(db, f"SELECT resolved_at IS NOT NULL FROM failures WHERE url = '{url}' AND stage = 'extract'") == [
            (True,)]


def test_replay_polls_a_feed_that_failed_and_loads_its_articles(prefect_harness, seed_site, tmp_path) -> None:
    feed_file = seed_site.root / "www.levantdispatch.example" / "feeds" / "world.xml"
    hidden = tmp_path / "world.xml"
    shutil.move(feed_file, hidden)
    db = tmp_path / "news.duckdb"
    ingest(sources=str(seed_site.sources_path), db=str(db))
    feed_url = seed_site.url("https://www.levantdispatch.example/feeds/world.xml")
    assert query(db, f"SELECT stage, reason FROM failures WHERE feed_url = '{feed_url}' AND resolved_at IS NULL") == [
        ("poll", "http_404")]
    assert query(db, f"SELECT count(*) FROM articles WHERE feed_url = '{feed_url}'") == [(0,)]

    shutil.move(hidden, feed_file)
    summary = replay(sources=str(seed_site.sources_path), db=str(db))
    assert summary["counts"]["feed_feeds_ok"] == 1
    assert query(db, f"SELECT count(*) FROM articles WHERE feed_url = '{feed_url}'")[0][0] > 0
    assert query(db, f"SELECT count(*) FROM failures WHERE feed_url = '{feed_url}' AND stage = 'poll' "
                     "AND resolved_at IS NULL") == [(0,)]
