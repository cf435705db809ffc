"""WARC reading: CC-NEWS names and days, record parsing, damaged records, archives served over HTTP."""

from __future__ import annotations

import threading
from datetime import date, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flows.stages.warc import (
    ArchiveError,
    WarcDamage,
    WarcResponse,
    list_day_archives,
    open_archive,
    read_record_at,
    read_warc,
)
from transforms.warc_records import (
    is_html_response,
    is_wanted_host,
    list_source_sites,
    parse_archive_name,
    parse_warc_date,
    select_day_archives,
)

REPO = Path(__file__).resolve().parent.parent
ARCHIVE = REPO / "seeds" / "archive"
MONTH = ARCHIVE / "2016" / "05"


def test_archive_names_give_their_day() -> None:
    assert parse_archive_name("x/CC-NEWS-20160526124729-00000.warc.gz") == datetime(2016, 5, 26, 12, 47, 29)
    assert parse_archive_name("CC-NEWS-20161326124729-00000.warc.gz") is None
    assert parse_archive_name("CC-MAIN-20160526124729-00000.warc.gz") is None
    names = ["CC-NEWS-20160524133500-00002.warc.gz", "CC-NEWS-20160523050000-00000.warc.gz",
             "CC-NEWS-20160524074400-00001.warc.gz"]
    assert select_day_archives(names, date(2016, 5, 24)) == names[2:] + names[:1]


def test_record_filters() -> None:
    assert parse_warc_date("2016-05-24T13:35:00Z") == datetime(2016, 5, 24, 13, 35)
    assert parse_warc_date("yesterday") is None
    assert is_html_response(200, "text/html; charset=utf-8") and not is_html_response(404, "text/html")
    assert not is_html_response(200, "text/plain")
    sites = list_source_sites(["https://news.harbourtimes.example/feeds/news.xml"])
    assert is_wanted_host("https://www.harbourtimes.example/a.html", sites)
    assert not is_wanted_host("https://www.unlisted-gazette.example/a.html", sites)
    assert is_wanted_host("https://www.unlisted-gazette.example/a.html", None)


def test_seed_archive_holds_response_records_with_bodies() -> None:
    records = [r for path in sorted(MONTH.glob("*.warc.gz")) for r in read_warc(path)]
    assert records and all(isinstance(r, WarcResponse) for r in records)
    pages = [r for r in records if r.status == 200 and "html" in r.headers["content-type"]]
    assert all(r.body.lstrip().lower().startswith(b"<!doctype html") for r in pages)
    assert {r.warc_date.date() for r in records} == {date(2016, 5, day) for day in range(23, 28)}
    assert any(r.status == 404 for r in records)


def test_damaged_record_is_reported_and_the_next_one_still_read(tmp_path) -> None:
    source = MONTH / "CC-NEWS-20160524074400-00001.warc.gz"
    intact = list(read_warc(source))
    data = bytearray(source.read_bytes())
    data[intact[0].offset + 50 : intact[0].offset + 120] = b"\x00" * 70
    damaged = tmp_path / source.name
    damaged.write_bytes(bytes(data))
    records = list(read_warc(damaged))
    assert isinstance(records[0], WarcDamage) and records[0].offset == intact[0].offset
    assert [r.target_uri for r in records[1:]] == [r.target_uri for r in intact[1:]]
    assert isinstance(read_record_at(damaged, intact[0].offset), WarcDamage)
    assert read_record_at(source, intact[1].offset).target_uri == intact[1].target_uri


def test_truncated_archive_reports_the_cut_record(tmp_path) -> None:
    source = MONTH / "CC-NEWS-20160523050000-00000.warc.gz"
    truncated = tmp_path / source.name
    truncated.write_bytes(source.read_bytes()[:-200])
    records = list(read_warc(truncated))
    assert isinstance(records[-1], WarcDamage) and records[-1].reason == "corrupt_gzip"


def test_local_and_http_archives_list_the_same_day_files() -> None:
    local = [Path(p).name for p in list_day_archives(str(ARCHIVE), date(2016, 5, 24))]
    assert local == ["CC-NEWS-20160524074400-00001.warc.gz", "CC-NEWS-20160524133500-00002.warc.gz"]
    handler = partial(SimpleHTTPRequestHandler, directory=str(ARCHIVE))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        remote = list_day_archives(base, date(2016, 5, 24))
        assert [url.rsplit("/", 1)[1] for url in remote] == local
        assert list_day_archives(base, date(2016, 7, 1)) == []
        with open_archive(remote[0]) as path:
            assert [r.target_uri for r in read_warc(path)] == [r.target_uri for r in read_warc(MONTH / local[0])]
        with pytest.raises(ArchiveError, match="HTTP 404"), open_archive(f"{base}/2016/05/missing.warc.gz"):
            pass
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(ArchiveError, match="no such archive folder"):
        list_day_archives(str(ARCHIVE / "nowhere"), date(2016, 5, 24))
