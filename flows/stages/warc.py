"""Reading WARC archives (CC-NEWS layout) from a local folder or an HTTP base URL, record by record.

Each record of a .warc.gz file is its own gzip member, so a damaged record is reported (with its offset)
and the reader resynchronises on the next gzip member instead of giving up on the whole file.
"""

from __future__ import annotations

import gzip
import io
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import httpx
from warcio.recordloader import ArcWarcRecordLoader

from transforms.warc_records import (
    archive_file_name,
    month_listing_path,
    parse_archive_name,
    parse_warc_date,
    select_day_archives,
)

GZIP_MAGIC = b"\x1f\x8b\x08"
CHUNK_BYTES = 1 << 16
MAX_RECORD_BYTES = 50_000_000  # a decompressed record larger than this is reported, not loaded
HTTP_TIMEOUT = httpx.Timeout(30.0, read=120.0)


class ArchiveError(RuntimeError):
    """An archive location that cannot be listed or read (missing folder, HTTP error, ...)."""


@dataclass(slots=True)
class WarcResponse:
    """One WARC response record: where it sits, what it answered, and the decoded HTTP body."""

    file_name: str
    offset: int
    record_id: str
    target_uri: str
    warc_date: datetime | None
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case HTTP header names
    body: bytes = b""


@dataclass(slots=True)
class WarcDamage:
    """A record that could not be read, and why."""

    file_name: str
    offset: int
    reason: str  # corrupt_gzip | corrupt_record | record_too_large
    detail: str
    target_uri: str | None = None


def is_remote(location: str) -> bool:
    """True for an http(s) archive location."""
    return location.startswith(("http://", "https://"))


def list_local_archives(folder: Path, day: date) -> list[str]:
    """Paths of the day's CC-NEWS files anywhere under a local folder."""
    if not folder.is_dir():
        raise ArchiveError(f"{folder}: no such archive folder")
    names = [str(path) for path in folder.rglob("CC-NEWS-*.warc.gz")]
    return select_day_archives(names, day)


def read_listing(text: str) -> list[str]:
    """The non-empty lines of a warc.paths listing."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def list_remote_archives(base_url: str, day: date, client: httpx.Client) -> list[str]:
    """URLs of the day's files, from the month's warc.paths.gz listing under the base URL."""
    base = base_url.rstrip("/")
    listing_url = f"{base}/{month_listing_path(day)}"
    try:
        response = client.get(listing_url)
    except httpx.HTTPError as error:
        raise ArchiveError(f"{listing_url}: {type(error).__name__}: {error}") from error
    if response.status_code == 404:
        return []
    if response.status_code != 200:
        raise ArchiveError(f"{listing_url}: HTTP {response.status_code}")
    raw = response.content
    text = gzip.decompress(raw).decode("utf-8") if raw[:2] == b"\x1f\x8b" else raw.decode("utf-8")
    names = select_day_archives([archive_file_name(path) for path in read_listing(text)], day)
    month = f"{base}/{day:%Y}/{day:%m}"
    return [f"{month}/{name}" for name in names]


def list_day_archives(location: str, day: date) -> list[str]:
    """The day's archive files (paths or URLs) at a local folder or HTTP base URL, in crawl order."""
    if is_remote(location):
        with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=True) as client:
            return list_remote_archives(location, day, client)
    return list_local_archives(Path(location), day)


@contextmanager
def open_archive(location: str) -> Iterator[Path]:
    """A local path for an archive file; remote files are downloaded to a temporary file first."""
    if not is_remote(location):
        path = Path(location)
        if not path.is_file():
            raise ArchiveError(f"{location}: no such archive file")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="newsdesk-warc-") as folder:
        path = Path(folder) / archive_file_name(location)
        try:
            with httpx.stream("GET", location, timeout=HTTP_TIMEOUT, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise ArchiveError(f"{location}: HTTP {response.status_code}")
                with path.open("wb") as handle:
                    for chunk in response.iter_bytes(CHUNK_BYTES):
                        handle.write(chunk)
        except httpx.HTTPError as error:
            raise ArchiveError(f"{location}: {type(error).__name__}: {error}") from error
        yield path


def find_next_member(handle: io.BufferedReader, start: int) -> int | None:
    """The offset of the next gzip member header at or after `start`, or None at the end of the file."""
    handle.seek(start)
    carry = b""
    position = start
    while True:
        chunk = handle.read(CHUNK_BYTES)
        if not chunk:
            return None
        window = carry + chunk
        found = window.find(GZIP_MAGIC)
        if found >= 0:
            return position - len(carry) + found
        carry = window[-(len(GZIP_MAGIC) - 1):]
        position += len(chunk)


def inflate_member(handle: io.BufferedReader, offset: int) -> tuple[bytes, int]:
    """Decompress the gzip member at `offset`; return its bytes and the offset just past it."""
    handle.seek(offset)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    size = 0
    consumed = 0
    while not inflater.eof:
        chunk = handle.read(CHUNK_BYTES)
        if not chunk:
            raise EOFError("archive ends inside a record")
        consumed += len(chunk)
        part = inflater.decompress(chunk, MAX_RECORD_BYTES + 1 - size)
        while inflater.unconsumed_tail and size + len(part) <= MAX_RECORD_BYTES:
            parts.append(part)
            size += len(part)
            part = inflater.decompress(inflater.unconsumed_tail, MAX_RECORD_BYTES + 1 - size)
        parts.append(part)
        size += len(part)
        if size > MAX_RECORD_BYTES:
            raise OverflowError(f"record larger than {MAX_RECORD_BYTES} bytes")
    return b"".join(parts), offset + consumed - len(inflater.unused_data)


def iter_members(path: Path) -> Iterator[tuple[int, bytes | WarcDamage]]:
    """Yield (offset, record bytes) per gzip member; a damaged member yields a WarcDamage and is skipped."""
    name = archive_file_name(str(path))
    with path.open("rb") as handle:
        offset: int | None = find_next_member(handle, 0)
        while offset is not None:
            try:
                data, offset_after = inflate_member(handle, offset)
            except OverflowError as error:
                yield offset, WarcDamage(name, offset, "record_too_large", str(error))
                offset = find_next_member(handle, offset + 1)
                continue
            except (zlib.error, EOFError) as error:
                yield offset, WarcDamage(name, offset, "corrupt_gzip", f"{type(error).__name__}: {error}")
                offset = find_next_member(handle, offset + 1)
                continue
            yield offset, data
            offset = find_next_member(handle, offset_after)


def parse_record(file_name: str, offset: int, data: bytes) -> WarcResponse | WarcDamage | None:
    """Parse one decompressed WARC record; None for record types other than response."""
    try:
        record = ArcWarcRecordLoader().parse_record_stream(io.BytesIO(data), known_format="warc")
        if record.rec_type != "response":
            return None
        uri = record.rec_headers.get_header("WARC-Target-URI") or ""
        status = None
        headers: dict[str, str] = {}
        if record.http_headers is not None:
            status = int(record.http_headers.get_statuscode() or 0) or None
            headers = {name.lower(): value for name, value in record.http_headers.headers}
        body = record.content_stream().read()
    except Exception as error:  # warcio raises many kinds; any of them means this record is unreadable
        return WarcDamage(file_name, offset, "corrupt_record", f"{type(error).__name__}: {error}")
    return WarcResponse(
        file_name=file_name, offset=offset,
        record_id=record.rec_headers.get_header("WARC-Record-ID") or f"{file_name}#{offset}",
        target_uri=uri.strip(), warc_date=parse_warc_date(record.rec_headers.get_header("WARC-Date")),
        status=status, headers=headers, body=body,
    )


def read_warc(path: Path, file_name: str | None = None) -> Iterator[WarcResponse | WarcDamage]:
    """Every response record of a .warc.gz file, and a WarcDamage for each record that cannot be read."""
    name = file_name or archive_file_name(str(path))
    for offset, data in iter_members(path):
        if isinstance(data, WarcDamage):
            data.file_name = name
            yield data
            continue
        parsed = parse_record(name, offset, data)
        if parsed is not None:
            yield parsed


def read_record_at(path: Path, offset: int, file_name: str | None = None) -> WarcResponse | WarcDamage | None:
    """Read the single record starting at `offset` (used to retry a damaged record)."""
    name = file_name or archive_file_name(str(path))
    with path.open("rb") as handle:
        try:
            data, _ = inflate_member(handle, offset)
        except (zlib.error, EOFError, OverflowError) as error:
            return WarcDamage(name, offset, "corrupt_gzip", f"{type(error).__name__}: {error}")
    return parse_record(name, offset, data)


def archive_day(location: str) -> date | None:
    """The day a CC-NEWS file belongs to, from its name."""
    started = parse_archive_name(archive_file_name(location))
    return started.date() if started else None

