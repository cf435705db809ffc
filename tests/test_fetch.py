"""Fetcher behaviour against a real fault-injecting server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
from datetime import UTC, datetime, timedelta

import brotli
import pytest

from flows.http.fetch import FetchRequest, FetchSettings, fetch_all, fetch_batch
from flows.http.politeness import HOST_SCHEDULE
from flows.http.robots import ROBOTS_CACHE

try:
    from faultserver import FaultServer, Reply, conditional, gzip_bomb, sequence, zeros
except ImportError:  # tests/ imported as a package
    from tests.faultserver import FaultServer, Reply, conditional, gzip_bomb, sequence, zeros

HUGE_BYTES = 200_000_000
RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Loopback news</title><ttl>30</ttl>
<item><title>One</title><link>/one</link><guid>g1</guid></item></channel></rss>"""


@pytest.fixture()
def server():
    """A fresh fault server; politeness and robots state reset so tests do not leak into each other."""
    HOST_SCHEDULE.clear()
    ROBOTS_CACHE.clear()
    with FaultServer() as running:
        yield running


def quick(**overrides) -> FetchSettings:
    """Loopback settings: private networks allowed, no spacing, short timeouts."""
    values = dict(
        allow_private_networks=True,
        per_host_delay_s=0.0,
        connect_timeout_s=2,
        read_timeout_s=2,
        total_timeout_s=5,
        retry_backoff_s=0.05,
    )
    values.update(overrides)
    return FetchSettings(**values)


def fetch_one(url: str, kind: str = "feed", settings: FetchSettings | None = None, **validators):
    """Fetch one URL synchronously."""
    return fetch_batch([FetchRequest(url, kind, **validators)], settings or quick())[0]


def test_200_returns_body_headers_and_timing(server):
    url = server.route("/feed.xml", Reply(200, {"content-type": "application/rss+xml", "etag": '"v1"'}, RSS))
    result = fetch_one(url)
    assert result.ok and result.status == 200 and result.body == RSS
    assert result.headers["etag"] == '"v1"' and result.headers["content-type"] == "application/rss+xml"
    assert result.final_url == url and result.error_class is None
    assert result.elapsed_ms > 0 and result.fetched_at.tzinfo is not None


def test_user_agent_carries_contact_url(server):
    url = server.route("/ua", Reply(200, {}, b"ok"))
    fetch_one(url, settings=quick(contact_url="mailto:desk@example.org"))
    agent = server.hits("/ua")[0].headers["user-agent"]
    assert agent.startswith("newsdesk/") and "mailto:desk@example.org" in agent


def test_results_keep_request_order(server):
    urls = [server.route(f"/n{i}", Reply(200, {}, str(i).encode(), delay_s=0.05 * (5 - i))) for i in range(5)]
    results = fetch_batch([FetchRequest(u, "page") for u in urls], quick(respect_robots=False))
    assert [r.body for r in results] == [str(i).encode() for i in range(5)]


def test_304_with_etag(server):
    url = server.route("/c", conditional(RSS))
    first = fetch_one(url)
    second = fetch_one(url, etag=first.headers["etag"])
    assert first.status == 200 and second.status == 304 and second.not_modified
    assert second.body is None and second.error_class is None and not second.ok
    assert server.hits("/c")[1].headers["if-none-match"] == first.headers["etag"]


def test_304_with_last_modified(server):
    url = server.route("/lm", conditional(RSS, etag=None, last_modified=time.time() - 3600))
    first = fetch_one(url)
    assert "etag" not in first.headers
    second = fetch_one(url, last_modified=first.headers["last-modified"])
    assert second.status == 304
    assert server.hits("/lm")[1].headers["if-modified-since"] == first.headers["last-modified"]


@pytest.mark.parametrize("status", [404, 410])
def test_client_errors_are_classified_not_retried(server, status):
    url = server.route("/gone", Reply(status, {}, b"nope"))
    result = fetch_one(url)
    assert result.error_class == f"http_{status}" and str(status) in result.error
    assert result.status == status and not result.ok and len(server.hits("/gone")) == 1


def test_429_with_long_retry_after_is_recorded_and_defers_host(server):
    url = server.route("/busy", Reply(429, {"retry-after": "120"}, b""))
    result = fetch_one(url)
    assert result.error_class == "http_429" and result.headers["retry-after"] == "120"
    assert len(server.hits("/busy")) == 1
    assert HOST_SCHEDULE.reserve_slot("127.0.0.1", 0.0) > 100  # the whole host now waits


def test_503_with_short_retry_after_is_retried(server):
    url = server.route("/unavail", sequence(Reply(503, {"retry-after": "0"}, b""), Reply(200, {}, b"back")))
    result = fetch_one(url)
    assert result.ok and result.body == b"back" and result.attempts == 2


def test_500_then_success_is_retried(server):
    url = server.route("/flaky", sequence(Reply(500, {}, b"oops"), Reply(200, {}, RSS)))
    result = fetch_one(url)
    assert result.ok and result.attempts == 2 and len(server.hits("/flaky")) == 2


def test_500_every_time_gives_up_after_max_retries(server):
    url = server.route("/down", Reply(500, {}, b"oops"))
    result = fetch_one(url, settings=quick(max_retries=2))
    assert result.error_class == "http_500" and result.attempts == 3 and len(server.hits("/down")) == 3


def test_read_timeout(server):
    url = server.route("/slow", Reply(200, {}, b"late", delay_s=3))
    result = fetch_one(url, settings=quick(read_timeout_s=0.3, max_retries=0))
    assert result.error_class == "timeout" and result.body is None


def test_slow_drip_exceeds_total_timeout(server):
    drip = Reply(
        200, {"content-type": "text/html"}, chunks=(b"x" * 10 for _ in range(1000)), chunk_delay_s=0.1
    )
    url = server.route("/drip", drip)
    result = fetch_one(url, settings=quick(read_timeout_s=1, total_timeout_s=1.0, max_retries=0))
    assert result.error_class == "timeout" and "total timeout" in result.error and result.body is None


def test_huge_streamed_body_is_cut_while_streaming(server):
    url = server.route("/huge", Reply(200, {}, chunks=zeros(HUGE_BYTES)))
    result = fetch_one(url, settings=quick(max_body_bytes=1_000_000))
    assert result.error_class == "too_large" and result.body is None
    [hit] = server.hits("/huge")
    assert hit.answered.wait(60), "the server was still sending after the fetch returned"
    # The client hung up once past the cap: the server could send no more than the sockets' buffers hold.
    assert hit.body_bytes_sent < HUGE_BYTES // 2


def test_declared_length_over_limit_is_refused_before_reading(server):
    url = server.route("/big", Reply(200, {}, b"y" * 5000))
    result = fetch_one(url, settings=quick(max_body_bytes=1000))
    assert result.error_class == "too_large" and "content-length" in result.error


def test_gzip_bomb_is_stopped_after_decompression(server):
    bomb = gzip_bomb(100 * 1024 * 1024)
    assert len(bomb) < 200_000
    url = server.route("/bomb", Reply(200, {"content-encoding": "gzip"}, bomb))
    result = fetch_one(url, settings=quick(max_body_bytes=1_000_000))
    assert result.error_class == "decompression_bomb" and result.body is None
    assert "decodes past 1000000 bytes" in result.error


def test_brotli_bomb_is_stopped(server):
    bomb = brotli.compress(b"\0" * (50 * 1024 * 1024))
    url = server.route("/brbomb", Reply(200, {"content-encoding": "br"}, bomb))
    result = fetch_one(url, settings=quick(max_body_bytes=1_000_000))
    assert result.error_class == "decompression_bomb"


def test_gzip_body_is_decoded_and_encoding_header_dropped(server):
    url = server.route("/gz", Reply(200, {"content-encoding": "gzip"}, gzip.compress(RSS)))
    result = fetch_one(url)
    assert result.body == RSS and "content-encoding" not in result.headers
    assert result.wire_bytes < len(RSS) + 40


def test_redirects_are_followed_and_final_url_recorded(server):
    final = server.route("/final", Reply(200, {}, b"here"))
    server.route("/b", Reply(302, {"location": "/final"}))
    start = server.route("/a", Reply(301, {"location": server.url("/b")}))
    result = fetch_one(start)
    assert result.ok and result.final_url == final and result.url == start
    assert result.redirects == [start, server.url("/b")]


def test_redirect_loop(server):
    server.route("/x", Reply(302, {"location": "/y"}))
    url = server.route("/y", Reply(302, {"location": "/x"}))
    result = fetch_one(url)
    assert result.error_class == "redirect_loop"


def test_too_many_redirects(server):
    for i in range(10):
        server.route(f"/r{i}", Reply(302, {"location": f"/r{i + 1}"}))
    result = fetch_one(server.url("/r0"), settings=quick(max_redirects=5))
    assert result.error_class == "too_many_redirects" and len(server.hits("/r5")) == 1
    assert not server.hits("/r6")


def test_redirect_to_other_scheme_is_refused(server):
    url = server.route("/ftp", Reply(302, {"location": "ftp://127.0.0.1/file"}))
    result = fetch_one(url)
    assert result.error_class == "bad_scheme"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(1)", "ftp://127.0.0.1/x"])
def test_non_http_schemes_are_refused(url):
    result = fetch_one(url)
    assert result.error_class == "bad_scheme" and result.status is None


def test_invalid_url_is_a_result_not_an_exception():
    result = fetch_one("http://[::1")
    assert result.error_class == "bad_url"


def test_loopback_refused_unless_private_networks_allowed(server):
    url = server.route("/private", Reply(200, {}, b"secret"))
    refused = fetch_one(url, "page", settings=quick(allow_private_networks=False))
    assert refused.error_class == "private_address" and "127.0.0.1" in refused.error
    assert not server.hits("/private")


def test_localhost_name_is_resolved_and_refused(server):
    url = f"http://localhost:{server.port}/private"
    server.route("/private", Reply(200, {}, b"secret"))
    result = fetch_one(url, "page", settings=quick(allow_private_networks=False))
    assert result.error_class == "private_address" and not server.hits("/private")


def test_connect_error_on_closed_port():
    with FaultServer() as closed:
        url = closed.url("/nothing")
    result = fetch_one(url, settings=quick(max_retries=1))
    assert result.error_class == "connect_error" and result.attempts == 2


def test_robots_disallow_applies_to_pages_not_feeds(server):
    server.route(
        "/robots.txt", Reply(200, {"content-type": "text/plain"}, b"User-agent: *\nDisallow: /private/\n")
    )
    page = server.route("/private/article", Reply(200, {}, b"article"))
    refused = fetch_one(page, "page")
    assert refused.error_class == "robots_disallowed" and not server.hits("/private/article")
    allowed = fetch_one(page, "feed")
    assert allowed.ok
    fetch_one(server.route("/public", Reply(200, {}, b"ok")), "page")
    assert len(server.hits("/robots.txt")) == 1  # cached per host


def test_robots_5xx_means_disallow(server):
    server.route("/robots.txt", Reply(503, {}, b""))
    result = fetch_one(server.route("/page", Reply(200, {}, b"x")), "page", settings=quick(max_retries=0))
    assert result.error_class == "robots_disallowed" and "unreachable" in result.error


def test_missing_robots_allows_everything(server):
    result = fetch_one(server.route("/page", Reply(200, {}, b"x")), "page")
    assert result.ok and len(server.hits("/robots.txt")) == 1


def test_per_host_delay_spaces_requests(server):
    urls = [server.route(f"/p{i}", Reply(200, {}, b"x")) for i in range(3)]
    before = time.monotonic()
    fetch_batch([FetchRequest(u, "feed") for u in urls], quick(per_host_delay_s=0.3))
    arrivals = sorted(hit.at - before for hit in server.requests)
    # The n-th request may start no sooner than n delays after the first one's turn, itself after `before`.
    # (Gaps between arrivals prove nothing: the first request's connect can take longer than the next one's.)
    assert len(arrivals) == 3 and all(at >= n * 0.3 for n, at in enumerate(arrivals)), arrivals


def test_per_host_connection_limit(server):
    active = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def slow(_info):
        with lock:
            active["now"] += 1
            active["peak"] = max(active["peak"], active["now"])
        time.sleep(0.2)
        with lock:
            active["now"] -= 1
        return Reply(200, {}, b"x")

    server.route("/s", slow)
    requests = [FetchRequest(server.url(f"/s?i={i}"), "feed") for i in range(6)]
    results = fetch_batch(requests, quick(per_host_connections=2))
    assert all(r.ok for r in results) and active["peak"] == 2


def test_fetch_batch_works_inside_running_loop(server):
    url = server.route("/loop", Reply(200, {}, b"ok"))

    async def caller():
        return fetch_batch([FetchRequest(url, "feed")], quick())

    assert asyncio.run(caller())[0].body == b"ok"


def test_fetch_batch_works_from_plain_thread(server):
    url = server.route("/thread", Reply(200, {}, b"ok"))
    box = {}
    worker = threading.Thread(
        target=lambda: box.setdefault("r", fetch_batch([FetchRequest(url, "feed")], quick()))
    )
    worker.start()
    worker.join()
    assert box["r"][0].body == b"ok"


def test_fetch_all_is_awaitable(server):
    url = server.route("/aw", Reply(200, {}, b"ok"))
    results = asyncio.run(fetch_all([FetchRequest(url, "feed")], quick()))
    assert results[0].ok


def fetch_and_parse(server, path: str, reply: Reply):
    """Serve `reply` at `path`, fetch it as a feed and parse the body."""
    from transforms.feeds import parse_feed

    result = fetch_one(server.route(path, reply))
    assert result.ok, result.error
    return parse_feed(result.body, result.final_url, result.headers)


def test_served_feed_with_wrong_declared_charset(server):
    body = RSS.replace(b"One", "Алеппо".encode("cp1251")).replace(b"utf-8", b"windows-1251")
    parsed = fetch_and_parse(
        server, "/cp1251.xml", Reply(200, {"content-type": "application/rss+xml; charset=utf-8"}, body)
    )
    assert parsed.entries[0].title == "Алеппо"


def test_served_malformed_xml_keeps_items_and_reason(server):
    body = RSS.replace(b"</channel></rss>", b"<item><title>broken &nbsp <link>")
    parsed = fetch_and_parse(server, "/bad.xml", Reply(200, {"content-type": "application/xml"}, body))
    assert parsed.bozo and parsed.bozo_reason and parsed.entries[0].title == "One"
    assert parsed.entries[0].link == server.url("/one")


def test_served_billion_laughs_is_harmless(server):
    declarations = [b'<!ENTITY a0 "aaaaaaaaaa">'] + [
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">'.encode() for i in range(1, 10)
    ]
    laughs = b"<!DOCTYPE rss [" + b"".join(declarations) + b"]>"
    body = RSS.replace(b"<rss", laughs + b"<rss", 1).replace(b"<title>One</title>", b"<title>&a9;</title>")
    parsed = fetch_and_parse(server, "/lol.xml", Reply(200, {"content-type": "application/xml"}, body))
    assert parsed.bozo and "entity" in parsed.bozo_reason.lower()
    assert "aaaaaaaaaaaaaaaaaaaa" not in repr(parsed)


def test_served_xxe_does_not_leak_local_file(server, tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:SECRET")
    doctype = f'<!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>'.encode()
    body = RSS.replace(b"<rss", doctype + b"<rss", 1).replace(b"<title>One</title>", b"<title>&x;</title>")
    parsed = fetch_and_parse(server, "/xxe.xml", Reply(200, {"content-type": "application/xml"}, body))
    assert "SECRET" not in repr(parsed) and parsed.bozo


def test_waiting_for_a_host_slot_does_not_count_against_total_timeout(server):
    urls = [server.route(f"/q{i}", Reply(200, {}, b"x")) for i in range(5)]
    settings = quick(per_host_connections=1, per_host_delay_s=0.3, total_timeout_s=0.8)
    results = fetch_batch([FetchRequest(u, "feed") for u in urls], settings)
    assert [r.error_class for r in results] == [None] * 5


def test_robots_crawl_delay_spaces_page_requests(server):
    server.route("/robots.txt", Reply(200, {}, b"User-agent: *\nCrawl-delay: 0.4\n"))
    urls = [server.route(f"/article{i}", Reply(200, {}, b"x")) for i in range(3)]
    results = fetch_batch([FetchRequest(u, "page") for u in urls], quick(per_host_delay_s=0.0))
    assert all(r.ok for r in results)
    [robots] = server.hits("/robots.txt")
    arrivals = sorted(hit.at - robots.at for hit in server.requests if hit.path.startswith("/article"))
    # Pages take their turns once robots.txt is read, so the n-th comes n crawl delays after its arrival.
    assert len(arrivals) == 3 and all(at >= n * 0.4 for n, at in enumerate(arrivals)), arrivals


def test_a_long_retry_after_leaves_the_host_rest_for_later_without_waiting(server):
    """A Retry-After past max_retry_after_s is not waited out: the host's later requests end at once as
    `deferred`, with the time they may be made (the 429's own result carries it too)."""
    busy = server.route("/busy", Reply(429, {"retry-after": "20"}, b""))
    good = [server.route(f"/good{i}", Reply(200, {}, b"x")) for i in range(6)]
    before = datetime.now(UTC)
    requests = [FetchRequest(busy, "page")] + [FetchRequest(u, "page") for u in good]
    results = fetch_batch(requests, quick(per_host_connections=1, total_timeout_s=60))
    after = datetime.now(UTC)
    assert results[0].error_class == "http_429" and results[0].status == 429
    assert before + timedelta(seconds=20) <= results[0].retry_at <= after + timedelta(seconds=20)
    assert [(r.status, r.error_class) for r in results[1:]] == [(None, "deferred")] * 6
    assert {r.retry_at for r in results[1:]} == {results[0].retry_at}
    assert all("retry-after" in r.error.lower() for r in results[1:])
    assert [len(server.hits(f"/good{i}")) for i in range(6)] == [0] * 6


def test_a_short_retry_after_is_waited_for_and_the_host_fetched_in_the_same_batch(server):
    busy = server.route("/busy", sequence(Reply(429, {"retry-after": "1"}, b""), Reply(200, {}, b"back")))
    good = [server.route(f"/good{i}", Reply(200, {}, b"x")) for i in range(3)]
    requests = [FetchRequest(busy, "page")] + [FetchRequest(u, "page") for u in good]
    results = fetch_batch(requests, quick(per_host_connections=1))
    assert all(r.ok and r.retry_at is None for r in results) and results[0].attempts == 2
    assert [len(server.hits(f"/good{i}")) for i in range(3)] == [1] * 3


def test_a_rate_limited_host_leaves_other_hosts_alone(server):
    busy = server.route("/busy", Reply(429, {"retry-after": "3600"}, b""))
    with FaultServer(host="127.0.0.2") as other:
        urls = [other.route(f"/fine{i}", Reply(200, {}, b"x")) for i in range(3)]
        results = fetch_batch([FetchRequest(u, "page") for u in [busy, *urls]], quick(per_host_connections=1))
    assert results[0].retry_at is not None and all(r.ok and r.retry_at is None for r in results[1:])
