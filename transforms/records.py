"""Plain records passed between stages: feed entries, fetched pages, articles and their tags."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class FeedEntry:
    """One item of a feed as seen at poll time."""

    feed_url: str
    guid: str
    link: str | None
    title: str | None = None
    summary: str | None = None
    published_at: datetime | None = None
    error: str | None = None  # why the entry cannot be followed (no link, unsupported scheme, ...)
    updated_at: datetime | None = None  # the feed's own last-modified time of the item, when it gives one


@dataclass(slots=True)
class ParsedFeed:
    """What a feed document yielded: its entries and how well-formed it was."""

    feed_url: str
    title: str | None
    entries: list[FeedEntry]
    bozo: bool = False
    bozo_reason: str | None = None
    ttl_minutes: int | None = None  # RSS <ttl> or sy:updatePeriod/updateFrequency, as minutes
    error: str | None = None  # set when nothing at all could be parsed


@dataclass(slots=True)
class TopicTag:
    """One topic assigned to one article, with the evidence that earned it."""

    topic_id: str
    score: float
    evidence: dict = field(default_factory=dict)
    taxonomy_version: str = ""


@dataclass(slots=True)
class Article:
    """An extracted, cleaned article ready for dedup and loading."""

    article_id: str
    url: str  # the URL as the feed linked it
    final_url: str  # after redirects
    canonical_url: str
    feed_url: str | None
    source: str  # outlet host, e.g. www.levantdispatch.example
    title: str | None
    byline: str | None
    published_at: datetime | None
    language: str | None
    text: str
    word_count: int
    content_hash: str
    extractor_version: str
    cleaner_version: str
    categories: list[str] = field(default_factory=list)
    topics: list[TopicTag] = field(default_factory=list)
    minhash: bytes | None = None  # MinHash signature of the text, 128 x uint32 little-endian (near_dupes)
    wire_credit: str | None = None  # agency the text or title credits ("AP", "Reuters", ...), if any
    published_source: str | None = None  # jsonld | meta | time_tag | feed | url | text | crawl
    date_candidates: list[dict] = field(default_factory=list)  # every date seen (transforms/dates.py)
    modified_at: datetime | None = None  # the page's stated last modification, when it gives one
    language_source: str | None = None  # text | html | feed
    language_confidence: float | None = None  # the text detector's confidence (0-1), when it ran
    declared_language: str | None = None  # the page's <html lang>, as declared
    extractor: str | None = None  # trafilatura[+readability|+site_lines] | readability | jsonld
    site_lines: frozenset[int] = frozenset()  # its page's short lines before boilerplate was dropped
