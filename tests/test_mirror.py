"""Offline mirror: files under mirror_root/HOST answer requests through the normal fetch path."""

from __future__ import annotations

import os
import time

import pytest

from flows.http.fetch import FetchRequest, FetchSettings, fetch_batch
from flows.http.mirror import content_type_for, resolve_mirror_path
from flows.http.politeness import HOST_SCHEDULE
from flows.http.robots import ROBOTS_CACHE

try:
    from faultserver import FaultServer, Reply
except ImportError:
    from tests.faultserver import FaultServer, Reply

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>M</title></channel></rss>'


@pytest.fixture()
def mirror(tmp_path):
    """A mirror with one host holding a feed, an index page, an article and a robots.txt."""
    HOST_SCHEDULE.clear()
    ROBOTS_CACHE.clear()
    host = tmp_path / "news.example"
    (host / "feeds").mkdir(parents=True)
    (host / "feeds" / "world.xml").write_bytes(FEED)
    (host / "index.html").write_text("<html>home</html>")
    (host / "2024").mkdir()
    (host / "2024" / "story.html").write_text("<html>story</html>")
    (host / "robots.txt").write_text("User-agent: *\nDisallow: /drafts/\n")
    (tmp_path / "secret.txt").write_text("outside the host folder")
    return tmp_path


def fetch(mirror_root, url, kind="feed", **kwargs):
    """Fetch one URL with the mirror and strict network settings."""
    settings = FetchSettings(mirror_root=mirror_root, per_host_delay_s=5.0)
    return fetch_batch([FetchRequest(url, kind, **kwargs)], settings)[0]


def test_file_is_served_with_type_etag_and_last_modified(mirror):
    result = fetch(mirror, "https://news.example/feeds/world.xml?utm_source=x")
    assert result.ok and result.body == FEED and result.from_mirror
    assert result.headers["content-type"] == "application/xml"
    assert result.headers["etag"].startswith('"') and "last-modified" in result.headers


def test_conditional_get_against_mirror(mirror):
    first = fetch(mirror, "https://news.example/feeds/world.xml")
    by_etag = fetch(mirror, "https://news.example/feeds/world.xml", etag=first.headers["etag"])
    by_date = fetch(
        mirror, "https://news.example/feeds/world.xml", last_modified=first.headers["last-modified"]
    )
    assert by_etag.status == 304 and by_date.status == 304


def test_changed_file_gets_new_etag(mirror):
    first = fetch(mirror, "https://news.example/feeds/world.xml")
    path = mirror / "news.example" / "feeds" / "world.xml"
    path.write_bytes(FEED.replace(b">M<", b">N<"))
    os.utime(path, (time.time() + 10, time.time() + 10))
    second = fetch(mirror, "https://news.example/feeds/world.xml", etag=first.headers["etag"])
    assert second.status == 200 and second.headers["etag"] != first.headers["etag"]


def test_trailing_slash_serves_index_html(mirror):
    result = fetch(mirror, "https://news.example/", "page")
    assert (
        result.body == b"<html>home</html>" and result.headers["content-type"] == "text/html; charset=utf-8"
    )


def test_missing_file_is_a_real_404(mirror):
    result = fetch(mirror, "https://news.example/nope.html", "page")
    assert result.status == 404 and result.error_class == "http_404"


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/feeds/%2E%2E/%2e%2e/secret.txt"])
def test_path_traversal_is_refused(mirror, path):
    result = fetch(mirror, "https://news.example" + path)
    assert result.body != b"outside the host folder"
    assert result.status in (403, 404)


def test_resolve_mirror_path_rejects_dotdot(mirror):
    assert resolve_mirror_path(mirror, "news.example", "/a/../../secret.txt") is None
    assert resolve_mirror_path(mirror, "news.example", "/2024/story.html").name == "story.html"


def test_robots_in_mirror_is_honoured_for_pages(mirror):
    (mirror / "news.example" / "drafts").mkdir()
    (mirror / "news.example" / "drafts" / "x.html").write_text("draft")
    result = fetch(mirror, "https://news.example/drafts/x.html", "page")
    assert result.error_class == "robots_disallowed"


def test_mirrored_host_skips_politeness_delay(mirror):
    urls = [f"https://news.example/2024/story.html?i={i}" for i in range(5)]
    results = fetch_batch(
        [FetchRequest(u, "page") for u in urls], FetchSettings(mirror_root=mirror, per_host_delay_s=5.0)
    )
    assert all(r.ok for r in results)
    # No request took a turn on the host's schedule: the next one could go at once.
    assert HOST_SCHEDULE.reserve_slot("news.example", 5.0) == 0


def test_redirects_file_drives_real_redirects(mirror):
    (mirror / "news.example" / "_redirects").write_text("/old.html /2024/story.html 301\n")
    result = fetch(mirror, "https://news.example/old.html", "page")
    assert result.ok and result.final_url == "https://news.example/2024/story.html"
    assert result.redirects == ["https://news.example/old.html"]


def test_mirror_redirect_to_private_address_is_refused(mirror):
    with FaultServer() as server:
        target = server.route("/internal", Reply(200, {}, b"internal"))
        (mirror / "news.example" / "_redirects").write_text(f"/leak {target} 302\n")
        result = fetch(mirror, "https://news.example/leak", "page")
        assert result.error_class == "private_address" and not server.hits("/internal")


def test_body_limit_applies_to_mirror(mirror):
    (mirror / "news.example" / "big.html").write_bytes(b"z" * 50_000)
    settings = FetchSettings(mirror_root=mirror, max_body_bytes=10_000)
    result = fetch_batch([FetchRequest("https://news.example/big.html", "page")], settings)[0]
    assert result.error_class == "too_large"


def test_unmirrored_host_goes_to_network_checks(mirror):
    result = fetch(mirror, "http://127.0.0.1:9/x")
    assert result.error_class == "private_address" and not result.from_mirror


def test_content_types():
    from pathlib import Path

    assert content_type_for(Path("a/robots.txt")) == "text/plain; charset=utf-8"
    assert content_type_for(Path("a/feed.rss")) == "application/xml"
    assert content_type_for(Path("a/f.atom")) == "application/xml"
    assert content_type_for(Path("a/page.html")) == "text/html; charset=utf-8"
