"""Feed discovery on a fetched page, pure: the feeds a page links to, and the addresses sites commonly use."""

from __future__ import annotations

from urllib.parse import urlsplit

from trafilatura.feeds import FeedParameters, determine_feed

from transforms.urls import is_http_url

# Tried, in this order, on a site whose pages name no feed (WordPress, Ghost, Hugo, Jekyll, Drupal, ...).
COMMON_FEED_PATHS = ("/feed", "/rss", "/feed.xml", "/rss.xml", "/atom.xml", "/index.xml")


def site_root(url: str) -> str:
    """The home page of the site a URL belongs to: scheme://host[:port]/."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}/"


def find_feed_links(html: str, page_url: str) -> list[str]:
    """Feed URLs a page names, in document order: its <link rel="alternate"> feeds, else <a> links that look
    like feeds (trafilatura's feed finder; comment feeds left out)."""
    parts = urlsplit(page_url)
    params = FeedParameters(site_root(page_url).rstrip("/"), parts.hostname or "", page_url)
    return [link for link in determine_feed(html, params) if is_http_url(link)]


def common_feed_urls(url: str) -> list[str]:
    """The usual feed addresses on the site of `url`."""
    root = site_root(url).rstrip("/")
    return [root + path for path in COMMON_FEED_PATHS]
