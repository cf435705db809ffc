"""Main-text and metadata extraction from article HTML with trafilatura."""

from __future__ import annotations

import re
from copy import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime

import trafilatura
from trafilatura.settings import Extractor
from trafilatura.utils import decode_file

HTML_LANG = re.compile(r"<html[^>]*?\slang\s*=\s*[\"']?([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)?", re.IGNORECASE)

EXTRACTOR_VERSION = f"trafilatura-{trafilatura.__version__}+1"

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
        published_at=parse_page_date(document.date),
        language=document.language or read_html_language(html),
        sitename=document.sitename or None,
        page_canonical=document.url or None,
        categories=categories,
    )
