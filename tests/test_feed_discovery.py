"""Feed discovery against real sites on loopback: a feed, a home page, an article page, two feeds, none."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from flows.http.discovery import DiscoveryError, discover_feeds
from flows.http.politeness import HOST_SCHEDULE
from flows.settings.config import FetchSettings
from tests.sites import PlainHandler
from transforms.feed_links import common_feed_urls, find_feed_links

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>{title}</title><link>http://site/</link><description>d</description>
<item><title>Aleppo truce falters</title><link>http://site/news/a.html</link><guid>a</guid></item>
<item><title>Raqqa offensive</title><link>http://site/news/b.html</link><guid>b</guid></item>
</channel></rss>
"""
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title><id>urn:x</id><updated>2016-05-03T10:00:00Z</updated>
<entry><title>Kilis rockets</title><id>urn:1</id><link href="http://site/world/1.html"/>
<updated>2016-05-03T10:00:00Z</updated></entry>
</feed>
"""


def page(head: str, body: str = "<p>Text.</p>") -> str:
    return f"<!doctype html><html><head><title>Page</title>{head}</head><body>{body}</body></html>"


RSS_LINK = '<link rel="alternate" type="application/rss+xml" title="News" href="/feeds/news.xml">'
ATOM_LINK = '<link rel="alternate" type="application/atom+xml" title="World" href="/feeds/world.atom">'
COMMENTS_LINK = '<link rel="alternate" type="application/rss+xml" href="/comments/feed">'

# One site with feeds declared on its pages; one whose feed is only at a usual path; one with no feed at all.
SITES = {
    "declared": {
        "index.html": page(RSS_LINK),
        "news/2016/aleppo-truce.html": page("", "<article><p>An article page naming no feed.</p></article>"),
        "sections/world.html": page(RSS_LINK + ATOM_LINK + COMMENTS_LINK),
        "feeds/news.xml": RSS.format(title="Declared News"),
        "feeds/world.atom": ATOM.format(title="Declared World"),
    },
    "usual-path": {"index.html": page(""), "feed.xml": RSS.format(title="Usual Path Feed")},
    "featureless": {"index.html": page("", '<a href="/about.html">About</a>'), "about.html": page("")},
}


@contextmanager
def serve_sites(root: Path) -> Iterator[dict[str, str]]:
    """Each site in SITES on its own loopback port; yields site name -> origin."""
    servers, origins = [], {}
    try:
        for name, files in SITES.items():
            for path, text in files.items():
                (root / name / path).parent.mkdir(parents=True, exist_ok=True)
                (root / name / path).write_text(text, encoding="utf-8")
            server = ThreadingHTTPServer(("127.0.0.1", 0), partial(PlainHandler, directory=str(root / name)))
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
            origins[name] = f"http://127.0.0.1:{server.server_address[1]}"
        yield origins
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> Iterator[dict[str, str]]:
    HOST_SCHEDULE.clear()  # a Retry-After another module's server sent to 127.0.0.1 must not defer these
    with serve_sites(tmp_path_factory.mktemp("sites")) as origins:
        yield origins


SETTINGS = FetchSettings(allow_private_networks=True, per_host_delay_s=0, max_retries=0)


def test_a_feed_url_is_itself_the_feed(sites):
    url = sites["declared"] + "/feeds/news.xml"
    discovery = discover_feeds(url, SETTINGS)
    assert discovery.page_url is None
    assert [(f.feed_url, f.title, f.items) for f in discovery.feeds] == [(url, "Declared News", 2)]


def test_discovery_from_a_home_page(sites):
    discovery = discover_feeds(sites["declared"] + "/", SETTINGS)
    assert discovery.page_url == sites["declared"] + "/"
    assert [(f.feed_url, f.title) for f in discovery.feeds] == [
        (sites["declared"] + "/feeds/news.xml", "Declared News")
    ]


def test_discovery_from_an_article_page_falls_back_to_its_home_page(sites):
    discovery = discover_feeds(sites["declared"] + "/news/2016/aleppo-truce.html", SETTINGS)
    assert [f.feed_url for f in discovery.feeds] == [sites["declared"] + "/feeds/news.xml"]


def test_a_page_with_two_feeds_lists_both_in_page_order_without_the_comment_feed(sites):
    discovery = discover_feeds(sites["declared"] + "/sections/world.html", SETTINGS)
    assert [(f.feed_url, f.title, f.items) for f in discovery.feeds] == [
        (sites["declared"] + "/feeds/news.xml", "Declared News", 2),
        (sites["declared"] + "/feeds/world.atom", "Declared World", 1),
    ]


def test_a_site_naming_no_feed_is_probed_at_the_usual_paths(sites):
    discovery = discover_feeds(sites["usual-path"] + "/", SETTINGS)
    assert [f.feed_url for f in discovery.feeds] == [sites["usual-path"] + "/feed.xml"]


def test_a_page_with_no_feed_finds_nothing(sites):
    discovery = discover_feeds(sites["featureless"] + "/about.html", SETTINGS)
    assert discovery.feeds == []
    assert discovery.page_url == sites["featureless"] + "/about.html"


def test_an_address_that_cannot_be_fetched_raises_one_line(sites):
    with pytest.raises(DiscoveryError, match=r"could not fetch .*/missing\.html: HTTP 404"):
        discover_feeds(sites["declared"] + "/missing.html", SETTINGS)


def test_loopback_is_refused_unless_private_networks_are_allowed(sites):
    guarded = FetchSettings(per_host_delay_s=0, max_retries=0)
    with pytest.raises(DiscoveryError, match="private_address") as raised:
        discover_feeds(sites["declared"] + "/", guarded)
    assert "\n" not in str(raised.value)


def test_find_feed_links_resolves_relative_links_against_the_site():
    html = page(RSS_LINK + ATOM_LINK)
    assert find_feed_links(html, "https://news.example/world/story.html") == [
        "https://news.example/feeds/news.xml",
        "https://news.example/feeds/world.atom",
    ]
    assert find_feed_links(page("", '<a href="/rss.xml">RSS</a>'), "https://news.example/") == [
        "https://news.example/rss.xml"
    ]


def test_common_feed_urls_are_on_the_site_root():
    urls = common_feed_urls("https://news.example:8443/a/b.html?x=1")
    assert urls[0] == "https://news.example:8443/feed" and all(u.startswith("https://news.example:8443/") for u in urls)
