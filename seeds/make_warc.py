"""Write the bundled CC-NEWS style WARC archive (seeds/archive/) from the seed pages, deterministically.

Run from the repository root:  .venv/bin/python seeds/make_warc.py
Layout written (as CC-NEWS):  seeds/archive/2016/05/CC-NEWS-YYYYMMDDhhmmss-NNNNN.warc.gz and
seeds/archive/2016/05/warc.paths.gz listing them, so the folder works as a local archive and, served over
HTTP, as an archive base URL.
"""

from __future__ import annotations

import gzip
import io
import sys
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SEEDS = Path(__file__).resolve().parent
sys.path.insert(0, str(SEEDS.parent))

from transforms.extract import extract_page  # noqa: E402

SITE = SEEDS / "site"
ARCHIVE = SEEDS / "archive"
FIRST_DAY, LAST_DAY = date(2016, 5, 23), date(2016, 5, 27)
FILES_PER_DAY = {date(2016, 5, 24): 2}  # one day split over two files, as CC-NEWS does with busy days
UNLISTED_HOST = "www.unlisted-gazette.example"  # a copy of one page on a host no configured source has
NOT_FOUND_PAGE = b"<html><body><h1>Not found</h1></body></html>"
RECORD_NAMESPACE = uuid.UUID("6f1c1e5a-3b8e-4f2a-9d7c-2a5e8c0b1d42")


@dataclass
class Capture:
    """One page as the crawler saw it."""

    url: str
    when: datetime
    status: int
    content_type: str
    body: bytes


def seed_url(path: Path) -> str:
    """The https URL a mirrored file stands for."""
    return "https://" + path.relative_to(SITE).as_posix()


def page_day(path: Path) -> date | None:
    """The publication day of a seed page, as the extractor reads it."""
    page = extract_page(path.read_bytes(), seed_url(path))
    return page.published_at.date() if page and page.published_at else None


def list_captures() -> list[Capture]:
    """The seed pages published in the archive's days, plus a few records a real crawl also holds."""
    captures = []
    for path in sorted(SITE.rglob("*.html")):
        day = page_day(path)
        if day is None or not FIRST_DAY <= day <= LAST_DAY:
            continue
        minutes = int(uuid.uuid5(RECORD_NAMESPACE, seed_url(path)).int % 600)
        when = datetime.combine(day, datetime.min.time()) + timedelta(hours=6, minutes=minutes)
        captures.append(Capture(seed_url(path), when, 200, "text/html; charset=utf-8", path.read_bytes()))
    first = min(captures, key=lambda capture: capture.url)
    robots = SITE / "www.meridianwire.example" / "robots.txt"
    extras = [
        Capture("https://www.meridianwire.example/robots.txt", datetime(2016, 5, 23, 5, 0), 200, "text/plain",
                robots.read_bytes()),
        Capture("https://www.levantdispatch.example/2016/05/26/no-such-story.html",
                datetime(2016, 5, 26, 7, 0), 404, "text/html", NOT_FOUND_PAGE),
        Capture(first.url.replace(first.url.split("/")[2], UNLISTED_HOST), first.when + timedelta(minutes=5),
                200, first.content_type, first.body),
    ]
    return sorted(captures + extras, key=lambda capture: (capture.when, capture.url))


def record_id(*parts: str) -> str:
    """A stable WARC-Record-ID, so that rerunning the script writes the same bytes."""
    return f"<urn:uuid:{uuid.uuid5(RECORD_NAMESPACE, '|'.join(parts))}>"


def warc_date(when: datetime) -> str:
    """A WARC-Date value."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_file(captures: list[Capture], name: str) -> bytes:
    """One .warc.gz file: a warcinfo record, then a request and a response record per capture."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    info = writer.create_warcinfo_record(name, {"software": "newsdesk seeds/make_warc.py",
                                                "description": "newsdesk seed archive (fictional outlets)"})
    info.rec_headers.replace_header("WARC-Record-ID", record_id(name, "warcinfo"))
    info.rec_headers.replace_header("WARC-Date", warc_date(captures[0].when))
    writer.write_record(info)
    for capture in captures:
        path = "/" + capture.url.split("/", 3)[3]
        host = capture.url.split("/")[2]
        headers = [("Host", host), ("User-Agent", "newsdesk")]
        request_headers = StatusAndHeaders(f"GET {path} HTTP/1.1", headers, is_http_request=True)
        request = writer.create_warc_record(capture.url, "request", http_headers=request_headers)
        request.rec_headers.replace_header("WARC-Record-ID", record_id(capture.url, "request"))
        request.rec_headers.replace_header("WARC-Date", warc_date(capture.when))
        reason = "OK" if capture.status == 200 else "Not Found"
        response_headers = StatusAndHeaders(
            f"{capture.status} {reason}",
            [("Content-Type", capture.content_type), ("Content-Length", str(len(capture.body)))],
            protocol="HTTP/1.1",
        )
        response = writer.create_warc_record(capture.url, "response", payload=io.BytesIO(capture.body),
                                             length=len(capture.body), http_headers=response_headers)
        response.rec_headers.replace_header("WARC-Record-ID", record_id(capture.url, "response"))
        response.rec_headers.replace_header("WARC-Date", warc_date(capture.when))
        writer.write_record(request)
        writer.write_record(response)
    return buffer.getvalue()


def plan_files(captures: list[Capture]) -> dict[str, list[Capture]]:
    """Group captures by day (and split busy days) under CC-NEWS file names."""
    files: dict[str, list[Capture]] = {}
    sequence = 0
    day = FIRST_DAY
    while day <= LAST_DAY:
        todays = [capture for capture in captures if capture.when.date() == day]
        parts = FILES_PER_DAY.get(day, 1)
        size = -(-len(todays) // parts) if todays else 0
        for index in range(parts):
            chunk = todays[index * size : (index + 1) * size]
            if chunk:
                files[f"CC-NEWS-{chunk[0].when:%Y%m%d%H%M%S}-{sequence:05d}.warc.gz"] = chunk
                sequence += 1
        day += timedelta(days=1)
    return files


def write_archive(target: Path = ARCHIVE) -> list[Path]:
    """Write every file and the month listing; return the paths written."""
    month = target / f"{FIRST_DAY:%Y}" / f"{FIRST_DAY:%m}"
    month.mkdir(parents=True, exist_ok=True)
    for stale in month.glob("CC-NEWS-*.warc.gz"):
        stale.unlink()
    written = []
    for name, captures in plan_files(list_captures()).items():
        path = month / name
        path.write_bytes(write_file(captures, name))
        written.append(path)
    listing = "".join(f"crawl-data/CC-NEWS/{FIRST_DAY:%Y}/{FIRST_DAY:%m}/{path.name}\n" for path in written)
    (month / "warc.paths.gz").write_bytes(gzip.compress(listing.encode(), mtime=0))
    return written


if __name__ == "__main__":
    for written_path in write_archive():
        print(written_path.relative_to(SEEDS.parent))
