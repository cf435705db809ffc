"""The poll stage end to end: loopback feeds, a real DuckDB file, the feeds ledger and `newsdesk feeds`."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flows.http.fetch import FetchSettings
from flows.http.politeness import HOST_SCHEDULE
from flows.settings.config import load_config
from flows.stages.batches import entry_row
from flows.stages.poll import poll_feeds
from warehouse.db import open_warehouse, write_session
from warehouse.load import LoadBatch, load_batch, now_utc

try:
    from faultserver import Reply, conditional
except ImportError:
    from tests.faultserver import Reply, conditional


def rss(*guids: str, extra: str = "") -> bytes:
    """An RSS document with one item per guid."""
    items = "".join(
        f"<item><title>Story {g}</title><link>https://news.example/{g}</link>"
        f'<guid isPermaLink="false">{g}</guid></item>'
        for g in guids
    )
    channel = f"<channel><title>Desk</title>{extra}{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def run_poll(tmp_path, db, urls: list[str], force: bool = False, extra_yaml: str = ""):
    """Poll `urls` as configured feeds."""
    sources = tmp_path / "sources.yaml"
    feeds = "".join(f"  - url: {u}\n" for u in urls)
    sources.write_text(f"allow_private_networks: true\n{extra_yaml}feeds:\n{feeds}")
    settings = FetchSettings(
        allow_private_networks=True, per_host_delay_s=0.0, retry_backoff_s=0.01, respect_robots=False
    )
    return poll_feeds(load_config(sources), db, "run-test", settings, force=force)


def query(db, sql: str, *params):
    """Rows of a query on the warehouse file."""
    with open_warehouse(db, read_only=True) as connection:
        return connection.execute(sql, list(params)).fetchall()


def test_first_poll_stores_validators_then_304_skips_parsing(tmp_path, server, warehouse):
    url = server.route("/feed.xml", conditional(rss("a", "b", "c")))
    first = run_poll(tmp_path, warehouse, [url])
    assert first.counts["entries_new"] == 3 and first.counts["feeds_ok"] == 1
    etag = query(warehouse, "SELECT etag FROM feeds WHERE feed_url = ?", url)[0][0]
    assert etag
    second = run_poll(tmp_path, warehouse, [url], force=True)
    assert second.counts["feeds_unchanged"] == 1 and second.counts["entries_new"] == 0
    # Nothing loaded the first poll's entries (no batch ran): they are still pending, not lost to the 304.
    assert second.counts["entries_resumed"] == 3
    assert server.hits("/feed.xml")[1].headers["if-none-match"] == etag
    statuses = [row[0] for row in query(warehouse, "SELECT status FROM fetches ORDER BY fetched_at")]
    assert statuses == [200, 304]


def test_feed_not_due_is_not_polled(tmp_path, server, warehouse):
    url = server.route("/feed.xml", conditional(rss("a")))
    run_poll(tmp_path, warehouse, [url])
    again = run_poll(tmp_path, warehouse, [url])
    assert again.counts["feeds_due"] == 0 and len(server.hits("/feed.xml")) == 1


def test_same_body_without_validators_counts_as_unchanged(tmp_path, server, warehouse):
    url = server.route("/plain.xml", Reply(200, {"content-type": "application/rss+xml"}, rss("a", "b")))
    run_poll(tmp_path, warehouse, [url])
    second = run_poll(tmp_path, warehouse, [url], force=True)
    assert second.counts["feeds_unchanged"] == 1 and second.counts["entries_seen"] == 0


def test_new_items_are_returned_once(tmp_path, server, warehouse):
    bodies = iter([rss("a", "b"), rss("a", "b", "c")])
    server.route("/grow.xml", lambda _info: Reply(200, {}, next(bodies)))
    url = server.url("/grow.xml")
    first = run_poll(tmp_path, warehouse, [url])
    with write_session(warehouse) as connection:  # what the ingest flow's batch load stores
        load_batch(connection, LoadBatch("r", entries=[entry_row(e, "r", now_utc()) for e in first.entries]))
    second = run_poll(tmp_path, warehouse, [url], force=True)
    assert [e.guid for e in second.entries] == ["c"]


def test_failure_is_recorded_with_reason_and_backs_off(tmp_path, server, warehouse):
    url = server.route("/broken.xml", Reply(500, {}, b"oops"))
    result = run_poll(tmp_path, warehouse, [url])
    assert result.counts["feeds_failed"] == 1
    reasons = query(warehouse, "SELECT reason, detail FROM failures")
    assert reasons[0][0] == "http_500" and "500" in reasons[0][1]
    failures, wait_s, active = query(
        warehouse,
        "SELECT consecutive_failures, epoch(next_poll_at) - epoch(last_polled_at), active FROM feeds",
    )[0]
    assert failures == 1.0 and active and wait_s > 0
    fetch = query(warehouse, "SELECT status, error_class FROM fetches")
    assert fetch == [(500, "http_500")]


@pytest.mark.timeout(300, method="thread")  # before the fix the second feed waited out the hour
def test_feeds_of_a_host_under_a_long_retry_after_are_not_asked_and_wait_for_it(tmp_path, server, warehouse):
    busy = server.route("/busy.xml", Reply(429, {"retry-after": "3600"}, b""))
    calm = server.route("/calm.xml", conditional(rss("a")))
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"allow_private_networks: true\nfeeds:\n  - url: {busy}\n  - url: {calm}\n")
    settings = FetchSettings(allow_private_networks=True, per_host_connections=1, respect_robots=False)
    result = poll_feeds(load_config(sources), warehouse, "run-test", settings)
    assert result.counts["feeds_failed"] == 2 and not server.hits("/calm.xml")
    waits = dict(query(warehouse, "SELECT feed_url, epoch(next_poll_at) - epoch(last_polled_at) FROM feeds"))
    assert all(3600 - 1 <= wait <= 3600 * 1.2 + 1 for wait in waits.values())
    reasons = dict(query(warehouse, "SELECT url, reason FROM failures"))
    assert reasons == {busy: "http_429", calm: "deferred"}


def test_410_deactivates_feed_and_cli_reactivates_it(tmp_path, server, warehouse, capsys):
    from flows.cli import main

    url = server.route("/gone.xml", Reply(410, {}, b""))
    run_poll(tmp_path, warehouse, [url])
    active, reason = query(warehouse, "SELECT active, inactive_reason FROM feeds")[0]
    assert active is False and "410" in reason
    assert run_poll(tmp_path, warehouse, [url], force=True).counts["feeds_due"] == 0
    assert main(["feeds", "--db", str(warehouse), "--format", "csv"]) == 0
    listing = capsys.readouterr().out
    assert "inactive" in listing and url in listing
    assert main(["feeds", "--db", str(warehouse), "--activate", url]) == 0
    assert query(warehouse, "SELECT active, consecutive_failures FROM feeds")[0] == (True, 0.0)


def test_bozo_feed_keeps_items_and_records_reason(tmp_path, server, warehouse):
    broken = rss("a", "b").replace(b"</channel></rss>", b"<item><title>cut")
    url = server.route("/bozo.xml", Reply(200, {"content-type": "application/xml"}, broken))
    result = run_poll(tmp_path, warehouse, [url])
    assert {e.guid for e in result.entries} >= {"a", "b"}
    reason, detail = query(warehouse, "SELECT reason, detail FROM failures")[0]
    assert reason == "bozo_feed" and detail


def test_html_instead_of_feed_is_a_failure(tmp_path, server, warehouse):
    url = server.route(
        "/page.html", Reply(200, {"content-type": "text/html"}, b"<html><body>hi</body></html>")
    )
    result = run_poll(tmp_path, warehouse, [url])
    assert result.counts["feeds_failed"] == 1
    assert query(warehouse, "SELECT reason FROM failures")[0][0] == "unparseable_feed"
    assert query(warehouse, "SELECT consecutive_failures FROM feeds")[0][0] == 2.0


def test_ttl_hint_sets_next_poll(tmp_path, server, warehouse):
    url = server.route("/ttl.xml", Reply(200, {}, rss("a", extra="<ttl>180</ttl>")))
    run_poll(tmp_path, warehouse, [url])
    wait_s = query(warehouse, "SELECT epoch(next_poll_at) - epoch(last_polled_at) FROM feeds")[0][0]
    assert wait_s >= 180 * 60 * 0.85


def test_polling_section_sets_unconditional_cadence(tmp_path, server, warehouse):
    url = server.route("/feed.xml", conditional(rss("a")))
    for _ in range(3):
        run_poll(tmp_path, warehouse, [url], force=True, extra_yaml="polling:\n  unconditional_every: 2\n")
    sent = ["if-none-match" in hit.headers for hit in server.hits("/feed.xml")]
    assert sent == [False, True, False]


class CountingHandler(BaseHTTPRequestHandler):
    """Keep-alive feeds answering 304 to their ETag; the server counts the TCP connections it accepted."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        """Count one accepted connection."""
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        """The same small feed on every path, with an ETag."""
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = rss(self.path.strip("/"))
        self.send_response(200)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        return


def test_re_poll_answered_304_reuses_connections(tmp_path, warehouse):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
    httpd.daemon_threads = True
    httpd.lock, httpd.connections = threading.Lock(), 0
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        urls = [f"http://127.0.0.1:{httpd.server_address[1]}/feed-{n}" for n in range(40)]
        HOST_SCHEDULE.clear()
        assert run_poll(tmp_path, warehouse, urls).counts["feeds_ok"] == 40
        opened = httpd.connections
        again = run_poll(tmp_path, warehouse, urls, force=True)
        assert again.counts["feeds_unchanged"] == 40
        # At most one connection per host slot (FetchSettings.per_host_connections = 2), not one per 304.
        assert httpd.connections - opened <= FetchSettings().per_host_connections
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_shard_registers_and_polls_only_its_own_sites_feeds(tmp_path, warehouse):
    from tests.faultserver import FaultServer
    from transforms.shards import Shard, shard_of

    hosts = [f"127.0.0.{n}" for n in range(2, 40)]
    mine = next(h for h in hosts if shard_of(f"http://{h}/", 2) == 1)
    other = next(h for h in hosts if shard_of(f"http://{h}/", 2) == 2)
    with FaultServer(mine) as first, FaultServer(other) as second:
        own = first.route("/feed.xml", conditional(rss("a")))
        foreign = second.route("/feed.xml", conditional(rss("b")))
        sources = tmp_path / "sources.yaml"
        sources.write_text(f"allow_private_networks: true\nfeeds:\n  - url: {own}\n  - url: {foreign}\n")
        settings = FetchSettings(allow_private_networks=True, per_host_delay_s=0.0, respect_robots=False)
        HOST_SCHEDULE.clear()
        polled = poll_feeds(load_config(sources), warehouse, "run-shard", settings, shard=Shard(1, 2))
        assert polled.counts["feeds_due"] == 1 and [e.guid for e in polled.entries] == ["a"]
        assert not second.hits("/feed.xml")
    assert [row[0] for row in query(warehouse, "SELECT feed_url FROM feeds")] == [own]
