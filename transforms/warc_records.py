"""Pure helpers for CC-NEWS style WARC archives: file names, days, record filtering, pseudo feed entries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

from transforms.records import FeedEntry
from transforms.urls import is_http_url, registered_site_of

# CC-NEWS-20160526124729-00000.warc.gz: the crawl time of the file's first record, then a sequence number.
ARCHIVE_NAME = re.compile(r"CC-NEWS-(\d{14})-(\d{5})\.warc\.gz$")
HTML_TYPES = ("text/html", "application/xhtml+xml")
WARC_FEED_PREFIX = "warc:"


def parse_archive_name(name: str) -> datetime | None:
    """The start time (naive UTC) encoded in a CC-NEWS file name, or None for any other name."""
    match = ARCHIVE_NAME.search(name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d%H%M%S")
    except ValueError:
        return None


def select_day_archives(names: Iterable[str], day: date) -> list[str]:
    """The CC-NEWS file names (or paths ending in one) whose start time falls on `day`, in crawl order."""
    chosen = []
    for name in names:
        started = parse_archive_name(name)
        if started is not None and started.date() == day:
            chosen.append(name)
    return sorted(chosen, key=lambda name: ARCHIVE_NAME.search(name).group(0))


def month_listing_path(day: date) -> str:
    """Where a CC-NEWS style archive lists a month's files, relative to its base: YYYY/MM/warc.paths.gz."""
    return f"{day:%Y}/{day:%m}/warc.paths.gz"


def archive_file_name(path_or_url: str) -> str:
    """The last path segment of an archive location."""
    return path_or_url.rstrip("/").rsplit("/", 1)[-1]


def parse_warc_date(value: str | None) -> datetime | None:
    """A WARC-Date (ISO 8601, usually with Z) as naive UTC; None when absent or malformed."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def is_html_response(status: int | None, content_type: str | None) -> bool:
    """True for a 200 answer whose content type is HTML (or unstated)."""
    if status != 200:
        return False
    if not content_type:
        return True
    return content_type.split(";", 1)[0].strip().lower() in HTML_TYPES


def list_source_sites(feed_urls: Iterable[str]) -> frozenset[str]:
    """The registered sites (e.g. harbourtimes.example) of the configured feeds: pages of these are kept."""
    return frozenset(registered_site_of(url) for url in feed_urls if is_http_url(url))


def is_wanted_host(url: str, sites: frozenset[str] | None) -> bool:
    """Tell whether a record's URL belongs to one of the wanted sites (None: every site is wanted)."""
    if not is_http_url(url):
        return False
    return sites is None or registered_site_of(url) in sites


def warc_feed_url(file_name: str) -> str:
    """The pseudo feed URL under which a WARC file's records are recorded as entries."""
    return f"{WARC_FEED_PREFIX}{file_name}"


def make_warc_entry(file_name: str, record_id: str, target_uri: str, warc_date: datetime | None) -> FeedEntry:
    """A pseudo feed entry for one WARC response record, so it travels the same path as a feed item."""
    return FeedEntry(feed_url=warc_feed_url(file_name), guid=record_id, link=target_uri,
                     published_at=warc_date)
