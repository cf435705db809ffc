"""One connection pool per origin: connections kept per host across a batch over more hosts than the overall
limit, and closed with the batch."""

from __future__ import annotations

import pytest

from bench.host_sites import serving_host_sites
from bench.site import Site
from flows.http import pools
from flows.http.fetch import FetchRequest, FetchSettings, fetch_batch
from flows.http.politeness import HOST_SCHEDULE

HOSTS = [f"127.0.8.{n}" for n in range(1, 7)]


@pytest.fixture()
def sites():
    """Six loopback hosts serving /f0../f4."""
    HOST_SCHEDULE.clear()
    with serving_host_sites(HOSTS) as served:
        for host in served.sites:
            host.publish(Site(files={f"/f{n}": b"<rss/>" for n in range(5)}))
        yield served


def requests_to(sites, per_host: int) -> list[FetchRequest]:
    """`per_host` feed requests to every host, hosts interleaved."""
    return [FetchRequest(f"{host.origin}/f{n}", "feed") for n in range(per_host) for host in sites.sites]


def test_each_host_keeps_one_connection_when_there_are_more_hosts_than_connections(sites):
    settings = FetchSettings(
        allow_private_networks=True, per_host_delay_s=0.01, per_host_connections=1, max_connections=2
    )
    results = fetch_batch(requests_to(sites, 5), settings)
    assert [r.status for r in results] == [200] * 30
    assert [host.connections for host in sites.sites] == [1] * len(HOSTS)


def test_least_recently_used_hosts_are_let_go_past_the_kept_origins(sites, monkeypatch):
    monkeypatch.setattr(pools, "KEPT_ORIGINS", 2)
    settings = FetchSettings(allow_private_networks=True, per_host_delay_s=0.0, max_connections=1)
    results = fetch_batch(requests_to(sites, 2), settings)  # h1..h6, then h1..h6 again
    assert [r.status for r in results] == [200] * 12
    # Only two origins keep a connection: every host's second request opened a new one.
    assert [host.connections for host in sites.sites] == [2] * len(HOSTS)


def test_a_host_gets_at_most_its_connections_and_spaced_requests_reuse_one(sites):
    host = sites.sites[0]
    burst = FetchSettings(
        allow_private_networks=True, per_host_delay_s=0.0, per_host_connections=3, max_connections=8
    )
    results = fetch_batch([FetchRequest(f"{host.origin}/f{n % 5}", "feed") for n in range(24)], burst)
    assert [r.status for r in results] == [200] * 24
    assert 1 <= host.connections <= 3
    HOST_SCHEDULE.clear()
    other = sites.sites[1]
    spaced = FetchSettings(
        allow_private_networks=True, per_host_delay_s=0.02, per_host_connections=3, max_connections=8
    )
    results = fetch_batch([FetchRequest(f"{other.origin}/f{n}", "feed") for n in range(5)], spaced)
    assert [r.status for r in results] == [200] * 5
    assert other.connections == 1  # one request at a time: always the first slot, its connection kept alive
