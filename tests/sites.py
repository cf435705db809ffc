"""Serve the bundled seed site (or any folder of hosts) from real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


class PlainHandler(SimpleHTTPRequestHandler):
    """Static files, always answered in full (conditional headers ignored), quietly."""

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".xml": "application/xml",
        ".rss": "application/rss+xml",
        ".atom": "application/atom+xml",
    }

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        """Serve the file, ignoring If-Modified-Since so that every poll gets a 200."""
        del self.headers["If-Modified-Since"]
        del self.headers["If-None-Match"]
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep test output quiet."""


@dataclass
class ServedSite:
    """Seed hosts served on loopback: where each host went, and a sources file pointing at them."""

    root: Path
    origins: dict[str, str] = field(default_factory=dict)  # seed host → http://127.0.0.1:port
    sources_path: Path | None = None

    def url(self, seed_url: str) -> str:
        """Translate a seed URL (https://host/...) into its loopback URL."""
        for host, origin in self.origins.items():
            for scheme in ("https://", "http://"):
                prefix = f"{scheme}{host}"
                if seed_url.startswith(prefix):
                    return origin + seed_url[len(prefix) :]
        return seed_url


def rewrite_hosts(root: Path, origins: dict[str, str]) -> None:
    """Point every absolute seed URL in the copied files at its loopback origin."""
    for path in root.rglob("*"):
        if not path.is_file() or path.suffix not in {".html", ".xml", ".rss", ".atom", ".txt", ""}:
            continue
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        for host, origin in origins.items():
            text = text.replace(f"https://{host}", origin).replace(f"http://{host}", origin)
        path.write_text(text, encoding="utf-8", errors="surrogateescape")


@contextmanager
def serve_seed_site(root: Path, sources: Path = SEEDS / "sources.yaml") -> Iterator[ServedSite]:
    """Copy the seed mirror to `root`, serve each host on its own loopback port, and write a sources file."""
    mirror = SEEDS / "site"
    shutil.copytree(mirror, root)
    hosts = sorted(p.name for p in root.iterdir() if p.is_dir())
    servers = []
    try:
        for host in hosts:
            handler = partial(PlainHandler, directory=str(root / host))
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
        site = ServedSite(root=root)
        site.origins = {
            host: f"http://127.0.0.1:{server.server_address[1]}"
            for host, server in zip(hosts, servers, strict=True)
        }
        rewrite_hosts(root, site.origins)
        document = yaml.safe_load(sources.read_text(encoding="utf-8"))
        document.pop("mirror", None)
        document["allow_private_networks"] = True
        document["fetch"] = {"per_host_delay_s": 0}
        for feed in document["feeds"]:
            feed["url"] = site.url(feed["url"])
        site.sources_path = root.parent / "sources.yaml"
        site.sources_path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        yield site
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@contextmanager
def serve_one_feed_site(folder: Path, name: str) -> Iterator[tuple[Path, str, Path]]:
    """A one-feed site served from `folder / "site"` on loopback: (site folder, origin, sources file)."""
    root = folder / "site"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(PlainHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    sources = folder / "sources.yaml"
    document = {"allow_private_networks": True, "fetch": {"per_host_delay_s": 0},
                "feeds": [{"url": f"{origin}/feed.xml", "name": name, "language": "en"}]}
    sources.write_text(yaml.safe_dump(document), encoding="utf-8")
    try:
        yield root, origin, sources
    finally:
        server.shutdown()
        server.server_close()
