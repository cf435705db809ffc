"""Feed discovery for `newsdesk feeds add`: given a feed, check it parses; given a page, find its feeds.

Every request goes through the ingest's fetcher (flows/http/fetch.py): same politeness, size and time
bounds, and the same guard against loopback and private addresses (lifted only by `allow_private_networks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.http.fetch import FetchRequest, FetchResult, FetchSettings, fetch_batch
from transforms.encodings import decode_html
from transforms.feed_links import common_feed_urls, find_feed_links, site_root
from transforms.feeds import parse_feed

MAX_CANDIDATES = 10  # feed links checked per page; a page naming more is a directory, not a site


class DiscoveryError(Exception):
    """The address given could not be fetched (one line)."""


@dataclass(frozen=True)
class FoundFeed:
    """A feed that was fetched and parsed: its URL, its own title, and how many items it holds now."""

    feed_url: str
    title: str | None
    items: int


@dataclass
class Discovery:
    """The feeds found from one address, best first; `page_url`: the page it began at (None: a feed)."""

    url: str
    page_url: str | None
    feeds: list[FoundFeed] = field(default_factory=list)


def describe_failure(result: FetchResult) -> str:
    """One line on why a fetch gave no usable answer."""
    if result.status is not None:
        return f"HTTP {result.status}"
    reason = f"{result.error_class}: {' '.join((result.error or '').split())}"
    if result.error_class == "private_address":
        reason += " (allowed by `allow_private_networks: true` or NEWSDESK_ALLOW_PRIVATE_NETWORKS=true)"
    return reason


def check_feeds(urls: list[str], settings: FetchSettings) -> list[FoundFeed]:
    """Fetch candidate feed URLs and keep, in order, those that parse as a feed."""
    candidates = list(dict.fromkeys(urls))[:MAX_CANDIDATES]
    results = fetch_batch([FetchRequest(url, "feed") for url in candidates], settings)
    found = []
    for result in results:
        if not result.ok:
            continue
        parsed = parse_feed(result.body or b"", result.url, result.headers)
        if parsed.error is None:
            found.append(FoundFeed(result.url, parsed.title, len(parsed.entries)))
    return found


def links_on_home_page(page_url: str, settings: FetchSettings) -> list[str]:
    """The feed links of the site's home page (for an article page that names none)."""
    home = site_root(page_url)
    if home == page_url:
        return []
    result = fetch_batch([FetchRequest(home, "page")], settings)[0]
    if not result.ok:
        return []
    return find_feed_links(decode_html(result.body or b"", result.headers), result.final_url)


def discover_feeds(url: str, settings: FetchSettings) -> Discovery:
    """The feeds behind an address: itself when it is a feed; else the page's feed links, then its home
    page's, then the site's common feed paths. Raises DiscoveryError when the address cannot be fetched."""
    first = fetch_batch([FetchRequest(url, "feed")], settings)[0]
    if not first.ok:
        raise DiscoveryError(f"could not fetch {url}: {describe_failure(first)}")
    parsed = parse_feed(first.body or b"", url, first.headers)
    if parsed.error is None:
        return Discovery(url, None, [FoundFeed(url, parsed.title, len(parsed.entries))])
    page_url = first.final_url
    discovery = Discovery(url, page_url)
    links = find_feed_links(decode_html(first.body or b"", first.headers), page_url)
    discovery.feeds = check_feeds(links or links_on_home_page(page_url, settings), settings)
    if not discovery.feeds:
        discovery.feeds = check_feeds(common_feed_urls(page_url), settings)
    return discovery
