"""The peer: what a user would otherwise write — feedparser for the feeds, newspaper4k to download and parse.

The peer reads the same feeds from the same loopback server, then downloads and parses every linked article with
newspaper4k on one process per core (chunks of 16 URLs, as newsdesk does). It stores nothing, removes no
duplicates and tags nothing, so it does less than newsdesk. Image downloads are switched off and every worker
refuses connections to anything but loopback.
"""

from __future__ import annotations

import ipaddress
import multiprocessing
import socket
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

CHUNK_SIZE = 16


def is_available() -> bool:
    """True when newspaper4k is installed (the optional `bench` extra)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import newspaper  # noqa: F401
    except ImportError:
        return False
    return True


def allow_loopback_only() -> None:
    """Make this process refuse to connect anywhere but 127.0.0.0/8 and ::1."""
    connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not ipaddress.ip_address(host).is_loopback:
            raise ConnectionRefusedError(f"bench peer: refusing non-loopback address {host}")
        connect(self, address)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]


def start_peer_worker() -> None:
    """A peer worker: loopback only, and quiet (newspaper4k and dateutil warn about optional extras and zones)."""
    warnings.filterwarnings("ignore")
    allow_loopback_only()


def parse_articles(urls: list[str]) -> int:
    """Download and parse each URL with newspaper4k; return how many gave text."""
    from newspaper import Article

    found = 0
    for url in urls:
        article = Article(url, fetch_images=False, request_timeout=30)
        try:
            article.download()
            article.parse()
        except Exception:  # a user's loop skips a failed article and goes on
            continue
        found += bool(article.text)
    return found


def read_links(feed_urls: list[str]) -> list[str]:
    """Every item link of the feeds, read with feedparser."""
    import feedparser

    return [entry.link for url in feed_urls for entry in feedparser.parse(url).entries]


def measure_peer(feed_urls: list[str], workers: int) -> dict[str, float]:
    """Time the peer pipeline over the feeds: pool start, feed reading, downloads and parsing."""
    allow_loopback_only()
    started = time.perf_counter()
    links = read_links(feed_urls)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=start_peer_worker) as pool:
        chunks = [links[s : s + CHUNK_SIZE] for s in range(0, len(links), CHUNK_SIZE)]
        parsed = sum(pool.map(parse_articles, chunks))
    seconds = time.perf_counter() - started
    return {"pages": len(links), "parsed": parsed, "seconds": seconds, "pages_per_s": len(links) / seconds}
