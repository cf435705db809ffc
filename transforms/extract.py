"""Main-text and metadata extraction from article HTML with trafilatura."""

from __future__ import annotations

import re
from copy import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime

import justext.core
import trafilatura
import trafilatura.external
from htmldate.extractors import get_external_parser
from trafilatura.settings import Extractor
from trafilatura.utils import decode_file

HTML_LANG = re.compile(r"<html[^>]*?\slang\s*=\s*[\"']?([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)?", re.IGNORECASE)

# Publication timestamps with time of day, which htmldate reduces to a date. Matched on the page's first
# 200,000 characters as UTF-8 with ASCII letters lowered (the same offsets), from just before each place that
# names one of PUBLISHED_KEYS: a case-insensitive pattern tried at every position cost 1.4 ms a page (5 % of
# extraction), this 0.4.
PUBLISHED_TIME = re.compile(
    rb"(?:property|name|itemprop)=[\"'](?:article:published_time|datepublished|pubdate|publishdate)[\"'][^>]*?"
    rb"content=[\"']([^\"']{10,40})[\"']"
    rb"|\"datepublished\"\s*:\s*\"([^\"]{10,40})\""
)
PUBLISHED_KEYS = (b"published_time", b"datepublished", b"pubdate", b"publishdate")
PUBLISHED_LEAD = len(b'itemprop="article:')  # the most a match can start before its key
PUBLISHED_SCAN_CHARS = 200_000

EXTRACTOR_VERSION = f"trafilatura-{trafilatura.__version__}+2"

# Comments off: reader comments are not the article body. Metadata on: title, byline, date, canonical URL.
EXTRACT_OPTIONS = Extractor(
    output_format="python",
    comments=False,
    tables=True,
    with_metadata=True,
    dedup=False,
    date_params={"original_date": True, "extensive_search": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"},
)


@dataclass(slots=True)
class ExtractedPage:
    """What trafilatura found in one HTML page."""

    text: str
    title: str | None = None
    byline: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    sitename: str | None = None
    page_canonical: str | None = None
    categories: list[str] = field(default_factory=list)


def parse_page_date(value: str | None) -> datetime | None:
    """Turn the page's date (ISO, with or without time and offset) into an aware UTC timestamp."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def read_html_language(html: str) -> str | None:
    """Read the primary language subtag of the page's <html lang> attribute."""
    match = HTML_LANG.search(html, 0, 4096)
    return match.group(1).lower() if match else None


def read_published_time(html: str) -> datetime | None:
    """Read the first full publication timestamp from meta tags or JSON-LD."""
    data = html[:PUBLISHED_SCAN_CHARS].encode("utf-8", "surrogatepass")
    lowered = data.lower()
    starts: set[int] = set()
    for key in PUBLISHED_KEYS:
        at = lowered.find(key)
        while at >= 0:
            starts.update(range(max(0, at - PUBLISHED_LEAD), at))
            at = lowered.find(key, at + 1)
    matched_to = 0
    for start in sorted(starts):
        if start < matched_to:  # inside the last match: matches do not overlap
            continue
        match = PUBLISHED_TIME.match(lowered, start)
        if match is None:
            continue
        matched_to = match.end()
        group = 1 if match.start(1) >= 0 else 2
        value = data[match.start(group) : match.end(group)].decode("utf-8", "replace")
        value = value.strip().replace("Z", "+00:00")
        if "T" in value or " " in value:
            parsed = parse_page_date(value)
            if parsed is not None:
                return parsed
    return None


def choose_page_date(found: datetime | None, stated: datetime | None) -> datetime | None:
    """Prefer the page's stated timestamp when it agrees with the date htmldate found."""
    if stated is not None and (found is None or abs((stated - found).total_seconds()) < 2 * 86400):
        return stated
    return found


def extract_page(html: str | bytes, url: str | None = None) -> ExtractedPage | None:
    """Extract the article body and metadata from HTML; None when no body is found."""
    if isinstance(html, bytes):
        html = decode_file(html)
    options = copy(EXTRACT_OPTIONS)
    options.url = url
    options.source = url
    try:
        document = trafilatura.bare_extraction(html, options=options)
    except ValueError:
        return None
    if document is None or not (document.text or "").strip():
        return None
    categories = [c.strip() for c in (document.categories or []) if c and c.strip()]
    return ExtractedPage(
        text=document.text,
        title=document.title or None,
        byline=document.author or None,
        published_at=choose_page_date(parse_page_date(document.date), read_published_time(html)),
        language=document.language or read_html_language(html),
        sitename=document.sitename or None,
        page_canonical=document.url or None,
        categories=categories,
    )


WARM_UP_PAGE = (
    "<html lang='en'><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
    + "<p>A paragraph long enough to be kept as the body of this page, written on 3 May 2016.</p>" * 4
    + "</article></body></html>"
)


def warm_extractor() -> None:
    """Build now the tables trafilatura's helpers make on first use (jusText's stoplists of all languages,
    ~150k words; dateparser's ~200 locales and their regexes; the TLD list): a process forked after this
    shares those pages instead of building its own copy. Output is unchanged: they are caches."""
    stoplist = trafilatura.external.JT_STOPLIST or trafilatura.external.jt_stoplist_init()
    justext.core.define_stoplist(stoplist)  # lru-cached under the same tuple that trafilatura passes
    get_external_parser().get_date_data("qqzx 12 2016")  # no locale reads it: every one is loaded and tried
    extract_page(WARM_UP_PAGE, "https://warm-up.example.org/2016/05/03/page.html")
