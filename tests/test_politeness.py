"""Per-host spacing as a site sees it: gaps between request arrivals, timed by the kernel of a loopback server."""

from __future__ import annotations

import threading
import time

import pytest

from bench.host_sites import serving_host_sites
from bench.site import Site
from flows.http.fetch import FetchRequest, FetchSettings, fetch_batch
from flows.http.politeness import HOST_SCHEDULE
from flows.http.records import FetchResult
from flows.http.robots import ROBOTS_CACHE

DELAY_S = 0.3
# The server's arrival times are the kernel's receive timestamps (wall clock) and the fetcher spaces by the
# monotonic clock: allow them a millisecond apart.
CLOCK_TOLERANCE_S = 0.001


@pytest.fixture()
def site():
    """One loopback host serving /p0../p9, its request arrivals timed by the kernel."""
    HOST_SCHEDULE.clear()
    ROBOTS_CACHE.clear()
    with serving_host_sites(["127.0.9.9"]) as sites:
        [host] = sites.sites
        host.publish(Site(files={f"/p{n}": b"x" for n in range(10)}))
        yield host, sites.arrivals["127.0.9.9"]


def spaced(**overrides) -> FetchSettings:
    """Loopback settings with the per-host delay under test."""
    values = dict(allow_private_networks=True, per_host_delay_s=DELAY_S, per_host_connections=2)
    values.update(overrides)
    return FetchSettings(**values)


def gaps(arrivals: list[float]) -> list[float]:
    """Seconds between consecutive arrivals."""
    ordered = sorted(arrivals)
    return [later - earlier for earlier, later in zip(ordered, ordered[1:], strict=False)]


def test_a_request_sent_late_after_its_slot_still_keeps_the_next_one_a_delay_away(site):
    """The first answer's handling blocks the event loop past the second request's slot (as compressing a
    page body can): the second is sent late, and the third must wait a delay from that send, not from the
    second's slot."""
    host, arrivals = site
    blocked = []

    def block_once(result: FetchResult) -> FetchResult:
        if not blocked:
            blocked.append(result.url)
            time.sleep(DELAY_S * 1.5)
        return result

    urls = [f"{host.origin}/p{n}" for n in range(3)]
    results = fetch_batch([FetchRequest(url, "feed") for url in urls], spaced(), finish=block_once)
    assert [r.status for r in results] == [200, 200, 200]
    assert len(arrivals) == 3
    assert min(gaps(arrivals)) >= DELAY_S - CLOCK_TOLERANCE_S, gaps(arrivals)


def test_two_batches_at_once_share_the_host_spacing(site):
    """Two fetch batches on their own threads and event loops (an ingest fetches a batch while it loads the
    last) to one host: every arrival is a delay after the one before."""
    host, arrivals = site
    batches = [[FetchRequest(f"{host.origin}/p{n}", "feed") for n in range(k, 10, 2)] for k in (0, 1)]
    results: list[list[FetchResult]] = []
    threads = [threading.Thread(target=lambda b=b: results.append(fetch_batch(b, spaced()))) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status for batch in results for r in batch) == [200] * 10
    assert len(arrivals) == 10
    assert min(gaps(arrivals)) >= DELAY_S - CLOCK_TOLERANCE_S, gaps(arrivals)
