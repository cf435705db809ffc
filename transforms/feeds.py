"""Feed parsing: feedparser on bytes into ParsedFeed / FeedEntry records. Pure: no network, never raises."""

from __future__ import annotations

import calendar
import gzip
import hashlib
import io
import json
import re
import time
import zlib
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import feedparser

from transforms.records import FeedEntry, ParsedFeed

MAX_FEED_BYTES = 50_000_000  # after gunzip; larger documents are cut here (the fetcher caps far lower)
_GZIP_MAGIC = b"\x1f\x8b"
# An internal DTD subset that declares entities: feedparser drops it, and so do we before parsing, so entity
# expansion (billion laughs) or external entities (XXE, file:// reads) can never happen whatever the parser.
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE[^\[>]*\[(?:[^\]]|\](?!\s*>))*\]\s*>", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_UPDATE_PERIOD_MINUTES = {"hourly": 60, "daily": 1440, "weekly": 10080, "monthly": 43200, "yearly": 525600}


def gunzip_bounded(body: bytes, max_bytes: int = MAX_FEED_BYTES) -> bytes:
    """Decompress a gzip document, cut at `max_bytes`; the input is returned as is when it is not gzip."""
    if not body.startswith(_GZIP_MAGIC):
        return body
    decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        return decoder.decompress(body, max_bytes)
    except zlib.error:
        try:
            return gzip.decompress(body)[:max_bytes]
        except (OSError, EOFError, zlib.error):
            return body


def strip_entity_declarations(body: bytes) -> tuple[bytes, bool]:
    """Remove a DOCTYPE internal subset that declares entities; return (document, whether removed)."""
    head = body[:65536]
    match = _DOCTYPE_SUBSET.search(head)
    if match is None or not _ENTITY_DECL.search(match.group(0)):
        if b"<!ENTITY" in head.upper():
            # An unterminated or odd DOCTYPE still declaring entities: drop everything up to the root element.
            start = head.upper().find(b"<!DOCTYPE")
            end = head.find(b"]>", start)
            if start != -1 and end != -1:
                return body[:start] + body[end + 2 :], True
        return body, False
    return body[: match.start()] + body[match.end() :], True


def one_line(exc: BaseException | str | None) -> str | None:
    """Exception class and message on one line."""
    if exc is None:
        return None
    if isinstance(exc, str):
        return " ".join(exc.split())
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def to_utc(parsed: time.struct_time | None) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime, or None when absent or impossible."""
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def resolve_link(link: str | None, feed_url: str) -> tuple[str | None, str | None]:
    """Absolute http(s) link for an entry, or (link, reason) when it cannot be followed."""
    if not link or not link.strip():
        return None, "entry has no link"
    try:
        absolute = urljoin(feed_url, link.strip())
        parts = urlsplit(absolute)
    except ValueError as exc:
        return link, f"entry link is not a valid URL: {one_line(exc)}"
    if parts.scheme not in ("http", "https"):
        return absolute, f"entry link has unsupported scheme {parts.scheme or '(none)'!r}"
    if not parts.hostname:
        return absolute, "entry link has no host"
    return absolute, None


def entry_guid(entry: dict, link: str | None, title: str | None, published: datetime | None) -> str:
    """Entry id, else its link, else a stable hash of title and published time."""
    guid = entry.get("id") or entry.get("guid")
    if isinstance(guid, str) and guid.strip():
        return guid.strip()
    if link:
        return link
    seed = f"{title or ''}\x1f{published.isoformat() if published else ''}\x1f{entry.get('summary') or ''}"
    return "sha1:" + hashlib.sha1(seed.encode("utf-8", "replace")).hexdigest()


def feed_ttl_minutes(feed: dict) -> int | None:
    """Polling hint in minutes from RSS <ttl> or sy:updatePeriod / sy:updateFrequency."""
    ttl = str(feed.get("ttl") or "").strip()
    if ttl.isdigit() and int(ttl) > 0:
        return int(ttl)
    period = str(feed.get("sy_updateperiod") or "").strip().lower()
    if period in _UPDATE_PERIOD_MINUTES:
        frequency = str(feed.get("sy_updatefrequency") or "1").strip()
        per_period = int(frequency) if frequency.isdigit() and int(frequency) > 0 else 1
        return max(1, _UPDATE_PERIOD_MINUTES[period] // per_period)
    return None


def build_entry(entry: dict, feed_url: str) -> FeedEntry:
    """One FeedEntry from a feedparser entry; unusable links are recorded in `error`, not dropped."""
    title = entry.get("title") or None
    # dict.get bypasses feedparser's deprecated updated->published key aliasing (and its warning).
    published = to_utc(
        dict.get(entry, "published_parsed")
        or dict.get(entry, "updated_parsed")
        or dict.get(entry, "created_parsed")
    )
    link, link_error = resolve_link(entry.get("link"), feed_url)
    if link_error == "entry has no link":
        # Some feeds only carry the URL in a non-alternate <link> or an http guid (RSS isPermaLink).
        for candidate in [x.get("href") for x in entry.get("links", []) if isinstance(x, dict)] + [
            entry.get("id") if entry.get("guidislink", True) else None
        ]:
            if isinstance(candidate, str) and candidate.startswith(("http://", "https://")):
                link, link_error = resolve_link(candidate, feed_url)
                break
    followable = link if link_error is None else None
    summary = entry.get("summary") or None
    return FeedEntry(
        feed_url=feed_url,
        guid=entry_guid(entry, followable, title, published),
        link=link,
        title=title,
        summary=summary,
        published_at=published,
        error=link_error,
        updated_at=to_utc(dict.get(entry, "updated_parsed")),
    )


def looks_like_json(document: bytes, content_type: str) -> bool:
    """True when the document is (declared or sniffed as) JSON."""
    if "json" in content_type.lower():
        return True
    return document.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_rfc3339(value: object) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return to_utc(feedparser_date(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def feedparser_date(value: str) -> time.struct_time | None:
    """Lenient date parsing with feedparser's date handlers."""
    try:
        return feedparser.datetimes._parse_date(value)
    except Exception:  # feedparser's handlers raise assorted errors on junk
        return None


def parse_json_feed(document: bytes, feed_url: str) -> ParsedFeed | None:
    """Parse a JSON Feed (1.0/1.1); None when the document is not JSON Feed at all."""
    try:
        data = json.loads(document.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return None
    entries = []
    for item in data["items"]:
        if not isinstance(item, dict):
            continue
        title = item.get("title") if isinstance(item.get("title"), str) else None
        published = parse_rfc3339(item.get("date_published")) or parse_rfc3339(item.get("date_modified"))
        link, link_error = resolve_link(item.get("url") or item.get("external_url"), feed_url)
        summary = item.get("summary") or item.get("content_text") or item.get("content_html")
        guid = item.get("id")
        entries.append(
            FeedEntry(
                feed_url=feed_url,
                guid=str(guid)
                if guid not in (None, "")
                else entry_guid({}, link if not link_error else None, title, published),
                link=link,
                title=title,
                summary=summary if isinstance(summary, str) else None,
                published_at=published,
                error=link_error,
                updated_at=parse_rfc3339(item.get("date_modified")),
            )
        )
    title = data.get("title") if isinstance(data.get("title"), str) else None
    version = str(data.get("version") or "")
    reason = None if "jsonfeed.org" in version else f"JSON document without a JSON Feed version ({version!r})"
    return ParsedFeed(feed_url, title, entries, bozo=reason is not None, bozo_reason=reason)


def parse_feed(body: bytes, feed_url: str, headers: dict[str, str] | None = None) -> ParsedFeed:
    """Parse a feed document (RSS, Atom, RDF, JSON Feed) from bytes; failures are reported, never raised."""
    try:
        return _parse_feed(body, feed_url, headers or {})
    except Exception as exc:  # a parser bug must not take the run down with it
        return ParsedFeed(
            feed_url,
            None,
            [],
            bozo=True,
            bozo_reason=one_line(exc),
            error=f"feed could not be parsed: {one_line(exc)}",
        )


def _parse_feed(body: bytes, feed_url: str, headers: dict[str, str]) -> ParsedFeed:
    if not body or not body.strip():
        return ParsedFeed(feed_url, None, [], error="empty document")
    document = gunzip_bounded(bytes(body))
    headers = {k.lower(): v for k, v in headers.items()}
    if looks_like_json(document, headers.get("content-type", "")):
        json_feed = parse_json_feed(document, feed_url)
        if json_feed is not None:
            return json_feed
    document, entities_removed = strip_entity_declarations(document)
    if document[:1].isspace() and document.lstrip().startswith(b"<?xml"):
        document = document.lstrip()  # blank lines before the XML declaration are a common publisher slip
    response_headers = {k: v for k, v in headers.items() if k in ("content-type", "content-language")}
    # Without an HTTP content type, let the XML declaration / BOM decide the encoding (RFC 7303 rules).
    response_headers.setdefault("content-type", "application/xml")
    response_headers["content-location"] = feed_url
    parsed = feedparser.parse(
        io.BytesIO(document),
        response_headers=response_headers,
        resolve_relative_uris=True,
        sanitize_html=True,
    )
    feed = parsed.get("feed", {}) or {}
    entries = [build_entry(entry, feed_url) for entry in parsed.get("entries", [])]
    bozo = bool(parsed.get("bozo")) or entities_removed
    reason = one_line(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    if entities_removed:
        note = "DOCTYPE entity declarations ignored (entity-expansion/XXE guard)"
        reason = f"{note}; {reason}" if reason else note
    error = None
    if not entries and not parsed.get("version") and not feed.get("title"):
        error = f"not a feed: {reason}" if reason else "not a feed: no channel or entries found"
    return ParsedFeed(
        feed_url=feed_url,
        title=feed.get("title") or None,
        entries=entries,
        bozo=bozo,
        bozo_reason=reason,
        ttl_minutes=feed_ttl_minutes(feed),
        error=error,
    )
