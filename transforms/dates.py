"""Publication dates with provenance: the candidates a page, its feed and its fetch offer, and the rule that
picks `published_at` among them (docs/extraction.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from htmldate.extractors import extract_url_date
from htmldate.utils import Extractor as DateOptions
from lxml.html import HtmlElement

EARLIEST = datetime(1990, 1, 1)  # naive UTC; nothing older is a news page's publication date
# A stated time may pass the fetch time by this much: pages that give local time marked as UTC (or a wrong
# offset) are off by up to the widest UTC offset, 14 hours; an archive's record time can lag the same way.
FETCH_MARGIN = timedelta(hours=14)
URL_DATE_OPTIONS = DateOptions(
    extensive=False, max=datetime(2100, 1, 1), min=EARLIEST, original=True, format="%Y-%m-%d"
)
# Page metadata, in the order the rule trusts it; then the feed, then dates of a day only, then the fetch.
PAGE_SOURCES = ("jsonld", "meta", "time_tag")
DAY_SOURCES = ("url", "text")
# <meta> keys (property, name or itemprop, lower-cased) that state the publication or modification time.
PUBLISHED_META = frozenset(
    {"article:published_time", "og:published_time", "datepublished", "pubdate", "publishdate", "publish-date",
     "dc.date.issued", "parsely-pub-date", "sailthru.date"}
)
MODIFIED_META = frozenset({"article:modified_time", "og:updated_time", "datemodified", "dc.date.modified"})
TIME_TAG_XPATH = (
    "(//time[@pubdate][@datetime] | //time[@itemprop='datePublished'][@datetime]"
    " | //article//time[@datetime])"
)


@dataclass(slots=True, frozen=True)
class DateCandidate:
    """One date seen for a page: its source, its value (naive UTC), whether it has a time of day."""

    source: str  # jsonld | meta | time_tag | feed | url | text | crawl
    value: datetime
    has_time: bool = True
    kind: str = "published"  # or "modified"

    def as_json(self) -> dict[str, Any]:
        """The candidate as a JSON-ready dict."""
        return {"source": self.source, "value": self.value.isoformat(), "has_time": self.has_time,
                "kind": self.kind}


@dataclass(slots=True, frozen=True)
class DateChoice:
    """The chosen publication time and its source; the candidates that were weighed; the modified time."""

    published_at: datetime | None
    published_source: str | None
    modified_at: datetime | None
    candidates: tuple[DateCandidate, ...]


def parse_date_value(value: Any) -> tuple[datetime, bool] | None:
    """Read an ISO 8601 or RFC 2822 date as (naive UTC datetime, has a time of day); None if unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        has_time = len(text) > 10
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
            has_time = True
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed, has_time


def make_candidate(source: str, value: Any, kind: str = "published") -> DateCandidate | None:
    """A candidate from a raw value (string or datetime); None when it cannot be read."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return DateCandidate(source, value, True, kind)
    parsed = parse_date_value(value)
    return DateCandidate(source, parsed[0], parsed[1], kind) if parsed else None


def read_jsonld_dates(items: list[Any]) -> list[DateCandidate]:
    """datePublished and dateModified of the page's JSON-LD objects (extruct's items, @graph included)."""
    found: list[DateCandidate] = []
    for item in walk_jsonld(items):
        for key, kind in (("datePublished", "published"), ("dateModified", "modified")):
            candidate = make_candidate("jsonld", item.get(key), kind)
            if candidate is not None:
                found.append(candidate)
    return found


def walk_jsonld(items: Any) -> list[dict[str, Any]]:
    """Every JSON object among extruct's JSON-LD items, nested lists and @graph flattened."""
    objects: list[dict[str, Any]] = []
    stack = [items]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            objects.append(item)
            if "@graph" in item:
                stack.append(item["@graph"])
    return objects


def read_meta_dates(tree: HtmlElement) -> list[DateCandidate]:
    """Publication and modification times stated in <meta> tags."""
    found: list[DateCandidate] = []
    for meta in tree.iterfind(".//meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        kind = "published" if key in PUBLISHED_META else "modified" if key in MODIFIED_META else None
        if kind is not None:
            candidate = make_candidate("meta", meta.get("content"), kind)
            if candidate is not None:
                found.append(candidate)
    return found


def read_time_tag_date(tree: HtmlElement) -> list[DateCandidate]:
    """The first <time datetime> marked as the publication time, or inside the <article>."""
    for element in tree.xpath(TIME_TAG_XPATH):
        candidate = make_candidate("time_tag", element.get("datetime"))
        if candidate is not None:
            return [candidate]
    return []


def read_url_date(url: str | None) -> list[DateCandidate]:
    """A /YYYY/MM/DD/ style date in the URL (htmldate's rule)."""
    value = extract_url_date(url, URL_DATE_OPTIONS) if url else None
    candidate = make_candidate("url", value) if value else None
    return [candidate] if candidate else []


def find_page_dates(
    tree: HtmlElement, jsonld: list[Any], url: str | None, text_date: str | None
) -> list[DateCandidate]:
    """Every date the page offers: JSON-LD, meta tags, <time>, the URL, and htmldate's pick (`text_date`)."""
    found = read_jsonld_dates(jsonld) + read_meta_dates(tree) + read_time_tag_date(tree) + read_url_date(url)
    text = make_candidate("text", text_date)
    if text is not None:  # htmldate keeps the day only (its time of day is always midnight)
        text = DateCandidate("text", text.value.replace(hour=0, minute=0, second=0, microsecond=0), False)
    # htmldate reads the markup first: its pick counts as a text date only when no markup gave that day.
    if text is not None and all(c.value.date() != text.value.date() for c in found if c.kind == "published"):
        found.append(text)
    return found


def is_plausible(candidate: DateCandidate, latest: datetime | None) -> bool:
    """Never before 1990, never after the fetch (by more than FETCH_MARGIN; a day may be the fetch's own)."""
    if candidate.value < EARLIEST:
        return False
    if latest is None:
        return True
    if candidate.has_time:
        return candidate.value <= latest + FETCH_MARGIN
    return candidate.value.date() <= latest.date()


def rank_candidate(candidate: DateCandidate) -> int:
    """Lower is trusted more: timed page metadata, feed, dated page metadata, URL, text, crawl."""
    if candidate.source in PAGE_SOURCES and candidate.has_time:
        return PAGE_SOURCES.index(candidate.source)
    if candidate.source == "feed":
        return 10
    if candidate.source in PAGE_SOURCES:
        return 20 + PAGE_SOURCES.index(candidate.source)
    if candidate.source in DAY_SOURCES:
        return 30 + DAY_SOURCES.index(candidate.source)
    return 40


def choose_dates(candidates: list[DateCandidate], fetched_at: datetime | None) -> DateChoice:
    """Pick published_at (and modified_at) from the candidates by the documented rule."""
    latest = make_candidate("crawl", fetched_at).value if fetched_at else None
    plausible = [c for c in candidates if is_plausible(c, latest)]
    published = sorted((c for c in plausible if c.kind == "published"), key=rank_candidate)
    modified = sorted((c for c in plausible if c.kind == "modified"), key=rank_candidate)
    chosen = published[0] if published else None
    return DateChoice(
        published_at=chosen.value if chosen else None,
        published_source=chosen.source if chosen else None,
        modified_at=modified[0].value if modified else None,
        candidates=tuple(candidates),
    )
