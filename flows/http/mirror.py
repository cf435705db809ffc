"""Offline mirror: an httpx transport that answers requests for mirrored hosts from files on disk.

`https://HOST/PATH?QUERY` is served from `mirror_root/HOST/PATH` (query ignored, trailing `/` -> index.html),
with a real status code, Content-Type from the extension, an ETag (content hash) and Last-Modified (file
mtime), so conditional GETs, redirects and body limits run through the same client code as the network.
An optional `mirror_root/HOST/_redirects` file holds lines `FROM_PATH TO_URL [STATUS]` (default 301).
"""

from __future__ import annotations

import email.utils
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

CHUNK_BYTES = 64 * 1024
REDIRECTS_FILE = "_redirects"

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".rss": "application/xml",
    ".atom": "application/xml",
    ".rdf": "application/xml",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}


def content_type_for(path: Path) -> str:
    """Content-Type for a mirrored file, chosen by its name and extension."""
    if path.name == "robots.txt":
        return "text/plain; charset=utf-8"
    return _CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def mirrored_hosts(mirror_root: Path | None) -> frozenset[str]:
    """Host names that have a folder under the mirror root (lower-case)."""
    if mirror_root is None or not Path(mirror_root).is_dir():
        return frozenset()
    return frozenset(p.name.lower() for p in Path(mirror_root).iterdir() if p.is_dir())


def resolve_mirror_path(mirror_root: Path, host: str, url_path: str) -> Path | None:
    """File that answers `url_path` on `host`, or None when the path escapes the host folder."""
    host_root = (Path(mirror_root) / host.lower()).resolve()
    relative = url_path.lstrip("/")
    if any(part == ".." for part in relative.split("/")) or "\\" in relative or "\x00" in relative:
        return None
    candidate = (host_root / relative).resolve() if relative else host_root
    if not candidate.is_relative_to(host_root):
        return None
    if url_path.endswith("/") or candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate


def read_redirects(host_root: Path) -> dict[str, tuple[str, int]]:
    """Parse a host's `_redirects` file into {from_path: (location, status)}."""
    rules: dict[str, tuple[str, int]] = {}
    redirects = host_root / REDIRECTS_FILE
    if not redirects.is_file():
        return rules
    for line in redirects.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) < 2 or parts[0].startswith("#"):
            continue
        status = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 301
        rules[parts[0]] = (parts[1], status)
    return rules


def file_etag(path: Path) -> str:
    """Strong ETag from the file's content hash."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return '"' + digest.hexdigest()[:32] + '"'


class _FileStream(httpx.AsyncByteStream):
    """Stream a file in chunks so the client's body limit applies as it would on the network."""

    def __init__(self, path: Path) -> None:
        self._path = path

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with self._path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
                yield chunk


def _not_modified(request: httpx.Request, etag: str, mtime: float) -> bool:
    """True when the request's validators show the client already has this version."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag in tags or "*" in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError):
            return False
        return int(mtime) <= since
    return False


class MirrorTransport(httpx.AsyncBaseTransport):
    """Answer requests from `mirror_root/HOST/...` files; 404 for missing files, 403 for traversal."""

    def __init__(self, mirror_root: Path) -> None:
        self.mirror_root = Path(mirror_root)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Serve one request from the mirror folder."""
        host = request.url.host.lower()
        url_path = request.url.path or "/"
        host_root = self.mirror_root / host
        redirect = read_redirects(host_root).get(url_path)
        if redirect is not None:
            location, status = redirect
            return httpx.Response(
                status, headers={"location": location, "content-length": "0"}, request=request
            )
        if request.method not in ("GET", "HEAD"):
            return _plain(405, "method not allowed", request)
        path = resolve_mirror_path(self.mirror_root, host, url_path)
        if path is None:
            return _plain(403, "path outside the mirror refused", request)
        if not path.is_file():
            return _plain(404, "not found in mirror", request)
        stat = path.stat()
        etag = file_etag(path)
        headers = {
            "content-type": content_type_for(path),
            "etag": etag,
            "last-modified": email.utils.formatdate(stat.st_mtime, usegmt=True),
            "x-newsdesk-mirror": "1",
        }
        if _not_modified(request, etag, stat.st_mtime):
            return httpx.Response(304, headers=headers, request=request)
        headers["content-length"] = str(stat.st_size)
        if request.method == "HEAD":
            return httpx.Response(200, headers=headers, request=request)
        return httpx.Response(200, headers=headers, stream=_FileStream(path), request=request)


def _plain(status: int, text: str, request: httpx.Request) -> httpx.Response:
    """A small text/plain response."""
    body = text.encode()
    headers = {"content-type": "text/plain; charset=utf-8", "content-length": str(len(body))}
    return httpx.Response(status, headers=headers, content=body, request=request)


class RoutingTransport(httpx.AsyncBaseTransport):
    """Send mirrored hosts to the mirror transport and every other host to the network transport."""

    def __init__(self, mirror: MirrorTransport | None, network: httpx.AsyncBaseTransport) -> None:
        self.mirror = mirror
        self.network = network
        self.hosts = mirrored_hosts(mirror.mirror_root) if mirror else frozenset()

    def is_mirrored(self, host: str) -> bool:
        """True when `host` is answered from the mirror."""
        return host.lower() in self.hosts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Dispatch by host."""
        if self.mirror is not None and self.is_mirrored(request.url.host):
            return await self.mirror.handle_async_request(request)
        return await self.network.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the network transport."""
        await self.network.aclose()
