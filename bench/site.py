"""The benchmark site: N article pages cycled from real pages, feeds listing them, served from memory on loopback.

Each copy gets its own URL (/a/<i>.html) and its own text: after every four words of the page's text (outside
scripts and styles) comes a filler word from a per-copy random sequence, and a numbered paragraph is added, so no two copies share a content hash or most of their
shingles (the duplicate stages would otherwise discard or cluster them, which a real news day does not ask for).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
SEED_SITE = REPO / "seeds" / "site"
MARK = b"\x00"
FILLER_WORDS = tuple(
    b"also still then later again here there today now often early local senior main other several many "
    b"few some most first second new old major minor official public private regional national".split()
)
# Four words, then a copy token: every five-word shingle of a copy holds a token, so copies share almost none.
WORDS_PER_MARK = 4
TEXT_RUN = re.compile(rb"(>)([^<]{20,})")
SCRIPT_OR_STYLE = re.compile(rb"(<script\b.*?</script\s*>|<style\b.*?</style\s*>|<!--.*?-->)", re.IGNORECASE | re.DOTALL)
FIRST_PARAGRAPH_END = re.compile(rb"</p>", re.IGNORECASE)
LAST_MODIFIED = format_datetime(datetime(2024, 6, 1, 12, 0, tzinfo=UTC), usegmt=True)
ROBOTS = b"User-agent: *\nAllow: /\n"


@dataclass
class Site:
    """The site's feeds and robots.txt by path, and its pages, made on demand from marked templates."""

    files: dict[str, bytes] = field(default_factory=dict)
    templates: list[bytes] = field(default_factory=list)
    page_count: int = 0
    feed_paths: list[str] = field(default_factory=list)
    filler_feed_paths: list[str] = field(default_factory=list)
    source: str = ""  # where the base pages came from

    def page_path(self, index: int) -> str:
        """The path of page `index`."""
        return f"/a/{index}.html"

    def page_body(self, index: int) -> bytes:
        """The HTML of page `index`: its template with the copy's own token in every marker."""
        parts = self.templates[index % len(self.templates)].split(MARK)
        words = copy_words(index, len(parts) - 1)
        return b"".join(part + word for part, word in zip(parts, words + [b""], strict=True))

    def body_of(self, path: str) -> bytes | None:
        """The bytes served at `path`, or None."""
        if path.startswith("/a/") and path.endswith(".html"):
            number = path[3:-5]
            if number.isdigit() and int(number) < self.page_count:
                return self.page_body(int(number))
            return None
        return self.files.get(path)

    def etag_of(self, path: str) -> str:
        """A strong validator for `path` (pages are named by their index, feeds by a hash of their bytes)."""
        if path.startswith("/a/"):
            return f'"page-{path[3:-5]}"'
        return '"' + hashlib.sha1(self.files[path]).hexdigest()[:16] + '"'


def read_corpus_pages(corpus: Path = CORPUS) -> list[bytes]:
    """The real article pages of the shared corpus (gunzipped), in index order; empty when it is absent."""
    index = corpus / "pages.jsonl"
    if not index.is_file():
        return []
    pages = []
    for line in index.read_text(encoding="utf-8").splitlines():
        if line.strip():
            pages.append(gzip.decompress((corpus / json.loads(line)["page"]).read_bytes()))
    return pages


def read_seed_pages(site: Path = SEED_SITE) -> list[bytes]:
    """The seed site's article pages, the fallback when the shared corpus is absent."""
    return [path.read_bytes() for path in sorted(site.rglob("*.html")) if path.name != "index.html"]


def mark_words(match: re.Match[bytes]) -> bytes:
    """Put a copy marker after every few words of one text run (at its end when it has no spaces); runs of
    whitespace or a single word are left alone."""
    text = match.group(2)
    words = text.split()
    if not words or (len(words) == 1 and len(words[0]) < 20):
        return match.group(0)
    if len(words) <= WORDS_PER_MARK:
        return match.group(1) + text + b" " + MARK
    chunks = [b" ".join(words[i : i + WORDS_PER_MARK]) for i in range(0, len(words), WORDS_PER_MARK)]
    return match.group(1) + (b" " + MARK + b" ").join(chunks)


def make_template(html: bytes) -> bytes:
    """A page with copy markers woven into its text (not scripts, styles or comments) and a marked paragraph."""
    parts = SCRIPT_OR_STYLE.split(html.replace(MARK, b""))
    # split() with a group keeps the separators at odd positions: only the even parts are markup and text.
    html = b"".join(part if i % 2 else TEXT_RUN.sub(mark_words, part) for i, part in enumerate(parts))
    unique = b"</p><p>Dispatch " + MARK + b" filed for the desk " + MARK + b" with notes " + MARK + b".</p>"
    return FIRST_PARAGRAPH_END.sub(unique, html, count=1)


def copy_words(index: int, count: int) -> list[bytes]:
    """The words filling copy `index`'s markers: a per-copy sequence over a small common vocabulary (so the
    search index does not swell with made-up words), the first one the copy's own number."""
    rng = random.Random(index)
    return [str(index).encode()] + [rng.choice(FILLER_WORDS) for _ in range(count - 1)]


def make_feed(origin: str, title: str, items: list[tuple[int, str]], start: datetime) -> bytes:
    """An RSS 2.0 document listing (page index, path) items, newest first."""
    rows = []
    for index, path in items:
        published = format_datetime(start + timedelta(minutes=index), usegmt=True)
        rows.append(
            f"<item><title>Bench story {index}</title><link>{origin}{path}</link>"
            f'<guid isPermaLink="false">bench-{index}</guid><pubDate>{published}</pubDate></item>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>{origin}/</link><description>bench feed</description>"
        f"{''.join(reversed(rows))}</channel></rss>"
    ).encode()


def build_site(
    pages: int, origin: str, items_per_feed: int = 100, total_feeds: int = 0, corpus: Path = CORPUS
) -> Site:
    """Build `pages` unique article pages from the corpus (or seeds) and feeds of `items_per_feed` listing them.

    With `total_feeds` above the number of main feeds, filler feeds (20 items each, pointing at the same pages
    under other guids) are added so that a re-poll can be measured over that many feeds.
    """
    bases = read_corpus_pages(corpus)
    site = Site(source=f"{len(bases)} corpus pages" if bases else "")
    if not bases:
        bases = read_seed_pages()
        site.source = f"{len(bases)} seed pages (no ../shared/corpus)"
    site.templates = [make_template(html) for html in bases]
    site.page_count = pages
    start = datetime(2024, 6, 1, tzinfo=UTC)
    for feed_number, first in enumerate(range(0, pages, items_per_feed)):
        path = f"/feeds/{feed_number}.xml"
        items = [(i, f"/a/{i}.html") for i in range(first, min(first + items_per_feed, pages))]
        site.files[path] = make_feed(origin, f"Bench feed {feed_number}", items, start)
        site.feed_paths.append(path)
    for filler in range(max(0, total_feeds - len(site.feed_paths))):
        path = f"/feeds/filler-{filler}.xml"
        items = [((filler * 20 + k) % pages, f"/a/{(filler * 20 + k) % pages}.html") for k in range(20)]
        body = make_feed(origin, f"Filler feed {filler}", items, start).replace(
            b'"false">bench-', f'"false">filler-{filler}-'.encode()
        )
        site.files[path] = body
        site.filler_feed_paths.append(path)
    site.files["/robots.txt"] = ROBOTS
    return site


def answer_get(site: Site, target: str, headers: Mapping[str, str]) -> tuple[int, bytes, dict[str, str]]:
    """The status, body and headers answering a GET of `target`: the file, a 304 when the client's validator
    matches (If-None-Match first), or a 404. `headers` is keyed by lower-case names."""
    path = target.split("?", 1)[0]
    body = site.body_of(path)
    if body is None:
        return 404, b"not found", {}
    etag = site.etag_of(path)
    validators = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
    if_none_match = headers.get("if-none-match")
    if if_none_match == etag or (if_none_match is None and headers.get("if-modified-since") == LAST_MODIFIED):
        return 304, b"", validators
    kind = "application/rss+xml" if path.endswith(".xml") else "text/plain"
    if path.endswith(".html"):
        kind = "text/html"
    return 200, body, {**validators, "Content-Type": kind}


class SiteHandler(BaseHTTPRequestHandler):
    """Answer GETs from the site's files, with ETag / Last-Modified validators and 304s; keep-alive."""

    protocol_version = "HTTP/1.1"
    server: SiteServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        """Serve one file, or 304 when the client's validator matches, or 404."""
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.answer(*answer_get(self.server.site, self.path, headers))

    def answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """Send a complete response with a Content-Length, so the connection can be reused."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        with self.server.lock:
            self.server.statuses[status] += 1

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Stay quiet."""


class SiteServer(ThreadingHTTPServer):
    """A threaded loopback server over a Site's files, counting answers by status."""

    daemon_threads = True
    # http.server's backlog of 5 drops newsdesk's simultaneous connects (the client resends a SYN a second
    # later); real news sites listen with backlogs of hundreds.
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-request (a cancelled fetch) is not worth a traceback."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SiteHandler)
        self.site = Site()
        self.statuses: Counter[int] = Counter()
        self.lock = threading.Lock()

    @property
    def origin(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def publish(self, site: Site) -> None:
        """Serve `site` from now on."""
        self.site = site


@contextmanager
def run_server(server: SiteServer) -> Iterator[SiteServer]:
    """Run `server` (bound first, so the site can be built with its origin) in a thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def write_sources(
    path: Path, origin: str, feed_paths: list[str], batch_size: int = 500, workers: int = 0
) -> Path:
    """Write a sources file for the bench feeds: loopback allowed, no politeness delay, wide per-host limits."""
    document = {
        "allow_private_networks": True,
        "batch_size": batch_size,
        "workers": workers,
        "fetch": {"per_host_delay_s": 0, "per_host_connections": 16, "max_connections": 32},
        "feeds": [{"url": origin + feed_path, "name": feed_path} for feed_path in feed_paths],
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path
