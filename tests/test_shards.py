"""Feeds split over shards by site: stable, every site on one shard, and ingest polls only its shard's feeds."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from bench.site import Site, SiteHandler, SiteServer, build_site, run_server, write_sources
from flows.cli import main
from tests.test_lake_concurrency import NO_CORPUS
from transforms.shards import Shard, ShardError, parse_shard, shard_of
from warehouse.db import open_warehouse


def test_a_feed_keeps_its_shard_and_a_site_stays_on_one_shard():
    assert shard_of("https://www.bbc.co.uk/news/rss.xml", 4) == shard_of(
        "https://feeds.bbc.co.uk/world.xml", 4
    )
    # SHA-1 of the registered site, not Python's per-process hash(): the same answer on every machine.
    assert [shard_of(f"http://127.0.0.{n}/feed.xml", 4) for n in range(1, 9)] == [
        shard_of(f"http://127.0.0.{n}/other.xml", 4) for n in range(1, 9)
    ]
    assert shard_of("https://a.example/rss", 1) == 1


def test_sites_spread_over_the_shards():
    counts = Counter(shard_of(f"http://127.0.{n // 250}.{n % 250 + 1}/feed.xml", 4) for n in range(500))
    assert set(counts) == {1, 2, 3, 4}
    assert max(counts.values()) < 2 * min(counts.values())  # 125 each, give or take hashing's luck


@pytest.mark.parametrize("text", ["", "2", "0/4", "5/4", "1/0", "a/b", "-1/3"])
def test_a_bad_shard_names_the_problem(text):
    with pytest.raises(ShardError) as raised:
        parse_shard(text)
    assert "\n" not in str(raised.value)


def test_the_shards_of_n_cover_every_feed_once():
    feeds = [f"https://site{n}.example/rss" for n in range(200)]
    shards = [Shard(k, 3) for k in (1, 2, 3)]
    assert sorted(url for shard in shards for url in feeds if shard.holds(url)) == sorted(feeds)
    assert str(parse_shard(" 2 / 3 ")) == "2/3"


def test_ingest_with_a_bad_shard_is_one_line_before_anything_starts(tmp_path, capsys):
    assert main(["ingest", "--db", str(tmp_path / "news.duckdb"), "--shard", "3/2"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("newsdesk: error: --shard: shard 3 is not one of 1..2") and error.count("\n") == 1
    assert not (tmp_path / "news.lake.sqlite").exists()


def two_hosts_on_two_shards() -> tuple[str, str]:
    """Two loopback addresses whose sites fall on different shards of two."""
    first = "127.0.0.1"
    other = next(
        f"127.0.0.{n}"
        for n in range(2, 60)
        if shard_of(f"http://127.0.0.{n}/", 2) != shard_of(f"http://{first}/", 2)
    )
    return first, other


class HostServer(SiteServer):
    """The bench site server, on another loopback address than 127.0.0.1."""

    def __init__(self, host: str) -> None:
        ThreadingHTTPServer.__init__(self, (host, 0), SiteHandler)
        self.site, self.statuses, self.lock = Site(), Counter(), threading.Lock()

    @property
    def origin(self) -> str:
        """The server's base URL."""
        return f"http://{self.server_address[0]}:{self.server_address[1]}"


def fetched_hosts(db, kind: str) -> Counter:
    """Requests of a kind (feed, page) per host, from the fetch ledger."""
    with open_warehouse(db, read_only=True) as connection:
        urls = [
            row[0] for row in connection.execute("SELECT url FROM fetches WHERE kind = ?", [kind]).fetchall()
        ]
    return Counter(urlsplit(url).hostname for url in urls)


@pytest.mark.slow
def test_each_shard_run_polls_and_fetches_only_its_sites(prefect_harness, tmp_path):
    from flows.ingest import ingest

    servers = [HostServer(host) for host in two_hosts_on_two_shards()]
    feeds = []
    with contextlib.ExitStack() as running:
        for server in servers:
            site = build_site(20, server.origin, items_per_feed=10, corpus=NO_CORPUS)
            server.publish(site)
            running.enter_context(run_server(server))
            feeds += [server.origin + path for path in site.feed_paths]
        sources = write_sources(tmp_path / "sources.yaml", "", feeds)
        db = tmp_path / "news.duckdb"
        by_shard = {}
        for shard in ("1/2", "2/2"):
            summary = ingest(sources=str(sources), db=str(db), shard=shard)
            assert summary["status"] == "completed"
            by_shard[shard] = fetched_hosts(db, "page")
    first, second = (server.server_address[0] for server in servers)
    own = {shard_of(f"http://{first}/", 2): first, shard_of(f"http://{second}/", 2): second}
    assert set(by_shard["1/2"]) == {own[1]}  # shard 1 fetched only its site's pages
    assert by_shard["2/2"] == {own[1]: 20, own[2]: 20}  # shard 2 added only its own site's
    with open_warehouse(db, read_only=True) as connection:
        assert connection.execute("SELECT count(*), count(DISTINCT article_id) FROM articles").fetchone() == (
            40,
            40,
        )
        shards = connection.execute("SELECT params->>'$.shard' FROM runs ORDER BY started_at").fetchall()
    assert shards == [("1/2",), ("2/2",)]
