"""Backfill flows under the Prefect test harness: the seed WARC, idempotency, damaged records, reprocess."""

from __future__ import annotations

import json
import shutil
import zlib
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from flows.backfill import BackfillError, backfill, validate_window
from flows.stages.matchers import get_matcher
from flows.stages.warc import read_warc
from transforms.page_bodies import decompress_body
from warehouse.db import open_warehouse
from warehouse.page_files import pages_dir_for, read_page_bodies

REPO = Path(__file__).resolve().parent.parent
ARCHIVE = REPO / "seeds" / "archive"
MONTH = ARCHIVE / "2016" / "05"
SOURCES = REPO / "seeds" / "sources.yaml"
TAXONOMY = REPO / "seeds" / "taxonomy.yaml"
DATA_TABLES = ("entries", "raw_pages", "articles", "article_refs", "duplicates", "article_topics", "failures")


def archive_urls(day: date) -> set[str]:
    """Target URIs of the 200 HTML responses in the seed archive files of one day, on the sources' hosts."""
    urls = set()
    for path in MONTH.glob(f"CC-NEWS-{day:%Y%m%d}*.warc.gz"):
        for record in read_warc(path):
            if getattr(record, "status", None) == 200 and "html" in record.headers.get("content-type", "") \
                    and "unlisted" not in record.target_uri:
                urls.add(record.target_uri)
    return urls


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every data table's rows, without the columns that only say which run wrote them or when."""
    volatile = {"run_id", "first_seen_at", "seen_at", "detected_at", "failed_at", "updated_at", "body_file"}
    with open_warehouse(db, read_only=True) as connection:
        tables = {}
        for table in DATA_TABLES:
            columns = [row[0] for row in connection.execute(f"DESCRIBE {table}").fetchall()
                       if row[0] not in volatile]
            select = ", ".join(f"CAST({c} AS VARCHAR)" for c in columns)
            tables[table] = sorted(connection.execute(f"SELECT {select} FROM {table}").fetchall(), key=str)
    return tables


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Run a read-only query against the warehouse file."""
    with open_warehouse(db, read_only=True) as connection:
        return connection.execute(sql, params or []).fetchall()


def test_validate_window_rejects_bad_dates_in_one_line() -> None:
    with pytest.raises(BackfillError, match="start: '2016-13-01' is not a date"):
        validate_window("2016-13-01", "2016-05-27", "warc")
    with pytest.raises(BackfillError, match="end: 2016-05-01 is before start 2016-05-27"):
        validate_window("2016-05-27", "2016-05-01", "warc")
    with pytest.raises(BackfillError, match="mode: 'both' is not one of"):
        validate_window("2016-05-23", "2016-05-24", "both")
    assert validate_window("2016-05-30", date(2016, 6, 2), "reprocess") == [
        date(2016, 5, 30), date(2016, 5, 31), date(2016, 6, 1), date(2016, 6, 2)]


def test_warc_backfill_lands_the_days_articles_and_is_idempotent(prefect_harness, tmp_path) -> None:
    db = tmp_path / "news.duckdb"
    summary = backfill(start=date(2016, 5, 23), end=date(2016, 5, 25), mode="warc", archive=str(ARCHIVE),
                       db=str(db))
    expected = archive_urls(date(2016, 5, 23)) | archive_urls(date(2016, 5, 24)) | archive_urls(date(2016, 5, 25))
    assert len(expected) == 5
    stored = {row[0] for row in query(db, "SELECT url FROM articles")}
    assert stored == expected
    assert not {row[0] for row in query(db, "SELECT url FROM articles")} & archive_urls(date(2016, 5, 26))
    assert summary["status"] == "completed" and [d["day"] for d in summary["days"]] == [
        "2016-05-23", "2016-05-24", "2016-05-25"]
    # every day is its own run row, plus the parent
    runs = query(db, "SELECT flow, status, json_extract_string(params, '$.day') FROM runs ORDER BY 3 NULLS FIRST")
    assert runs == [("backfill", "completed", None), ("backfill-day", "completed", "2016-05-23"),
                    ("backfill-day", "completed", "2016-05-24"), ("backfill-day", "completed", "2016-05-25")]
    # articles carry their WARC capture as reference, their tags, and the off-source host was filtered
    refs = query(db, "SELECT count(*) FROM article_refs WHERE feed_url LIKE 'warc:CC-NEWS-201605%'")[0][0]
    assert refs == 5
    assert query(db, "SELECT count(*) FROM article_topics WHERE topic_id = 'aleppo'")[0][0] >= 1
    before = snapshot(db)
    again = backfill(start=date(2016, 5, 23), end=date(2016, 5, 25), mode="warc", archive=str(ARCHIVE),
                     db=str(db))
    assert snapshot(db) == before
    assert again["counts"].get("records_already_loaded") == summary["counts"].get("pages")


def test_two_shards_of_a_backfill_share_its_days_and_land_what_one_run_lands(prefect_harness, tmp_path) -> None:
    whole, split = tmp_path / "whole" / "news.duckdb", tmp_path / "split" / "news.duckdb"
    window = {"start": date(2016, 5, 23), "end": date(2016, 5, 27), "mode": "warc", "archive": str(ARCHIVE)}
    backfill(**window, db=str(whole))
    days = [
        [d["day"] for d in backfill(**window, db=str(split), shard=shard)["days"]] for shard in ("1/2", "2/2")
    ]
    assert sorted(days[0] + days[1]) == [f"2016-05-{n}" for n in range(23, 28)] and not set(days[0]) & set(days[1])
    assert snapshot(split) == snapshot(whole)  # page files are named after their run: body_file is left out


def test_all_hosts_keeps_pages_of_unconfigured_outlets(prefect_harness, tmp_path) -> None:
    db = tmp_path / "news.duckdb"
    backfill(start=date(2016, 5, 24), end=date(2016, 5, 24), archive=str(ARCHIVE), db=str(db), all_hosts=True)
    hosts = {row[0] for row in query(db, "SELECT split_part(url, '/', 3) FROM articles")}
    assert "www.unlisted-gazette.example" in hosts
    # the copy and its original carry one text (and one publication time): whichever was stored second is
    # marked as a content duplicate of the other, not a second story
    assert query(db, "SELECT d.method FROM duplicates d JOIN articles a USING (article_id) "
                     "WHERE a.url LIKE '%/2016/05/24/syria-al-qaeda-affiliate%'") == [("content_hash",)]


def test_warc_backfill_dates_the_seed_article_by_its_page_not_the_crawl(prefect_harness, tmp_path) -> None:
    db = tmp_path / "news.duckdb"
    backfill(start=date(2016, 5, 24), end=date(2016, 5, 24), archive=str(ARCHIVE), db=str(db))
    # The record was crawled at 13:35Z; the page says 20:45+03:00, as its feed does (17:45Z).
    rows = query(db, "SELECT published_at, published_source, date_candidates FROM articles "
                     "WHERE url LIKE '%syria-al-qaeda-affiliate-al-nusra-readies-major-aleppo-offensive%'")
    assert [row[:2] for row in rows] == [(datetime(2016, 5, 24, 17, 45), "jsonld")]
    assert {"jsonld", "meta", "crawl"} <= {candidate["source"] for candidate in json.loads(rows[0][2])}


def damage_second_record(source: Path, target: Path) -> int:
    """Copy an archive and overwrite bytes inside its second response record; return that record's offset."""
    offsets = [record.offset for record in read_warc(source)]
    data = bytearray(source.read_bytes())
    start = offsets[1]
    data[start + 40 : start + 140] = b"\x00" * 100
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bytes(data))
    return start


def test_damaged_record_is_recorded_and_skipped(prefect_harness, tmp_path) -> None:
    archive = tmp_path / "archive"
    name = "CC-NEWS-20160524074400-00001.warc.gz"
    offset = damage_second_record(MONTH / name, archive / "2016" / "05" / name)
    shutil.copy(MONTH / "CC-NEWS-20160524133500-00002.warc.gz", archive / "2016" / "05")
    db = tmp_path / "news.duckdb"
    summary = backfill(start=date(2016, 5, 24), end=date(2016, 5, 24), archive=str(archive), db=str(db))
    failures = query(db, "SELECT stage, reason, feed_url, json_extract(retry, '$.offset')::BIGINT FROM failures")
    assert failures == [("warc", "corrupt_gzip", f"warc:{name}", offset)]
    # the records before and after the damaged one still landed
    assert len(query(db, "SELECT * FROM articles")) == 2
    assert summary["failures"] == {"warc:corrupt_gzip": 1}
    backfill(start=date(2016, 5, 24), end=date(2016, 5, 24), archive=str(archive), db=str(db))
    assert len(query(db, "SELECT * FROM failures")) == 1


def write_bumped_taxonomy(tmp_path: Path) -> Path:
    """The seed taxonomy with a new version tag, so every stored tag becomes stale."""
    document = yaml.safe_load(TAXONOMY.read_text(encoding="utf-8"))
    document["version"] = f"{document['version']}-bumped"
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_reprocess_after_taxonomy_bump_retags_only_stale_rows_of_the_range(prefect_harness, tmp_path) -> None:
    db = tmp_path / "news.duckdb"
    backfill(start=date(2016, 5, 23), end=date(2016, 5, 27), archive=str(ARCHIVE), db=str(db))
    old_version = get_matcher(TAXONOMY).version
    bumped = write_bumped_taxonomy(tmp_path)
    new_version = get_matcher(bumped).version
    assert new_version != old_version
    articles_before = query(db, "SELECT article_id, text, updated_at FROM articles ORDER BY 1")
    summary = backfill(start=date(2016, 5, 23), end=date(2016, 5, 24), mode="reprocess", db=str(db),
                       taxonomy=str(bumped))
    in_range = {row[0] for row in query(
        db, "SELECT a.article_id FROM articles a JOIN raw_pages r USING (url) WHERE r.fetched_at < '2016-05-25'")}
    versions = dict(query(db, "SELECT article_id, max(taxonomy_version) FROM article_topics GROUP BY 1"))
    assert in_range and all(versions[a] == new_version for a in in_range if a in versions)
    assert {v for a, v in versions.items() if a not in in_range} == {old_version}
    # nothing was re-extracted: the extractor and cleaner versions did not change
    assert query(db, "SELECT article_id, text, updated_at FROM articles ORDER BY 1") == articles_before
    assert summary["counts"]["articles_retagged"] == len(in_range)
    assert summary["counts"].get("pages_stale", 0) == 0
    again = backfill(start=date(2016, 5, 23), end=date(2016, 5, 24), mode="reprocess", db=str(db),
                     taxonomy=str(bumped))
    assert again["counts"].get("articles_retagged", 0) == 0


def test_reprocess_rebuilds_articles_of_an_older_extractor(prefect_harness, tmp_path) -> None:
    db = tmp_path / "news.duckdb"
    backfill(start=date(2016, 5, 25), end=date(2016, 5, 26), archive=str(ARCHIVE), db=str(db))
    texts = dict(query(db, "SELECT article_id, text FROM articles"))
    with open_warehouse(db) as connection:
        connection.execute("UPDATE articles SET extractor_version = 'old', text = 'stale text' "
                           "WHERE url LIKE '%/2016/05/25/%'")
    summary = backfill(start=date(2016, 5, 25), end=date(2016, 5, 26), mode="reprocess", db=str(db))
    assert summary["counts"]["articles_rebuilt"] == 1
    assert dict(query(db, "SELECT article_id, text FROM articles")) == texts
    assert query(db, "SELECT count(*) FROM articles WHERE extractor_version = 'old'") == [(0,)]
    # the rebuilt text is signed again: every article keeps exactly one signature, in a cluster
    assert query(db, "SELECT count(*), count(DISTINCT article_id), count(cluster_id) FROM article_signatures") == [
        (len(texts), len(texts), len(texts))
    ]
    assert summary["counts"]["signed"] == 1


def test_retag_replaces_only_tags_of_an_older_taxonomy_and_then_has_nothing_to_do(prefect_harness, tmp_path) -> None:
    from flows.retag import retag

    db = tmp_path / "news.duckdb"
    backfill(start=date(2016, 5, 23), end=date(2016, 5, 27), archive=str(ARCHIVE), db=str(db))
    articles = query(db, "SELECT count(*) FROM articles")[0][0]
    bumped = write_bumped_taxonomy(tmp_path)
    first = retag(taxonomy=str(bumped), db=str(db), batch_size=2)
    assert first["counts"]["articles_retagged"] == articles
    assert query(db, "SELECT DISTINCT taxonomy_version FROM article_topics") == [(get_matcher(bumped).version,)]
    assert retag(taxonomy=str(bumped), db=str(db))["counts"]["articles_stale"] == 0


def test_cli_rejects_a_bad_date_before_anything_runs(tmp_path, capsys) -> None:
    from flows.cli import main

    db = tmp_path / "news.duckdb"
    assert main(["backfill", "--start", "2016-05-32", "--end", "2016-06-01", "--db", str(db)]) == 2
    assert "start: '2016-05-32' is not a date" in capsys.readouterr().err
    assert not db.exists()


def test_reprocess_reads_pages_stored_with_zlib_before_codecs(prefect_harness, tmp_path) -> None:
    db = tmp_path / "news.duckdb"
    backfill(start=date(2016, 5, 25), end=date(2016, 5, 26), archive=str(ARCHIVE), db=str(db))
    texts = dict(query(db, "SELECT article_id, text FROM articles"))
    assert query(db, "SELECT DISTINCT body_codec FROM raw_pages") == [("zstd",)]
    with open_warehouse(db) as connection:
        # Every page as an older newsdesk stored it: zlib bytes in the table, marked 'zlib' by migration 0005,
        # no page file (0006 left such rows as they were).
        pages = connection.execute("SELECT url, body_file FROM raw_pages").fetchall()
        for url, (body, codec) in read_page_bodies(pages_dir_for(db), pages).items():
            connection.execute("UPDATE raw_pages SET body_compressed = ?, body_codec = 'zlib', body_file = NULL "
                               "WHERE url = ?", [zlib.compress(decompress_body(body, codec), 6), url])
        connection.execute("UPDATE articles SET extractor_version = 'old', text = 'stale text'")
    shutil.rmtree(pages_dir_for(db))
    summary = backfill(start=date(2016, 5, 25), end=date(2016, 5, 26), mode="reprocess", db=str(db))
    assert summary["counts"]["articles_rebuilt"] == len(texts) > 1
    assert dict(query(db, "SELECT article_id, text FROM articles")) == texts


def test_reprocess_records_pages_whose_body_file_is_gone_and_rebuilds_the_rest(prefect_harness, tmp_path) -> None:
    db = tmp_path / "news.duckdb"
    backfill(start=date(2016, 5, 25), end=date(2016, 5, 26), archive=str(ARCHIVE), db=str(db))
    files = sorted(pages_dir_for(db).rglob("*.parquet"))
    assert files and query(db, "SELECT count(*) FROM raw_pages WHERE body_compressed IS NOT NULL") == [(0,)]
    lost = files[0].relative_to(pages_dir_for(db)).as_posix()
    lost_urls = {url for (url,) in query(db, f"SELECT url FROM raw_pages WHERE body_file = '{lost}'")}
    stale = query(db, "SELECT count(*) FROM articles")[0][0]
    with open_warehouse(db) as connection:
        connection.execute("UPDATE articles SET extractor_version = 'old'")
    files[0].unlink()
    summary = backfill(start=date(2016, 5, 25), end=date(2016, 5, 26), mode="reprocess", db=str(db))
    assert 0 < len(lost_urls) < stale
    assert summary["counts"]["articles_rebuilt"] == stale - len(lost_urls)
    recorded = query(db, "SELECT url, stage, detail FROM failures WHERE reason = 'page_file_missing'")
    assert {url for url, _, _ in recorded} == lost_urls
    assert all(stage == "extract" and lost in detail for _, stage, detail in recorded)
