"""Async, polite, bounded HTTP fetcher: every request ends as a FetchResult, never as an exception.

One httpx.AsyncClient per batch; redirects are followed by hand so every hop is checked (scheme, private
addresses, loops, robots.txt for pages). Bodies are streamed and capped before and after decompression.
Hosts that have a folder under `settings.mirror_root` are answered from files (flows/http/mirror.py).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from flows.http.bodies import DRAIN_MAX_BYTES, BodyTooLarge, brotli, drain_body, read_body_bounded
from flows.http.mirror import MirrorTransport, RoutingTransport
from flows.http.netguard import GuardError, check_public_host, check_scheme
from flows.http.politeness import HOST_SCHEDULE, HostDeferred, HostGate
from flows.http.pools import OriginPools
from flows.http.records import FetchRequest, FetchResult, ResultHook
from flows.http.robots import ROBOTS_CACHE, ROBOTS_MAX_BYTES, RobotsRules, rules_from_response
from flows.settings.config import FetchSettings
from transforms.http_dates import parse_retry_after_s

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
RETRY_STATUSES = (500, 502, 503, 504, 429)
ROBOTS_AGENT = "newsdesk"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError)
_DROPPED_HEADERS = ("content-encoding", "content-length", "transfer-encoding")



# The running request's total-timeout context: time spent queueing for a host slot is added back to it, so the
# total timeout bounds the request itself, not how long politeness made it wait its turn.
_BUDGET: ContextVar[asyncio.Timeout | None] = ContextVar("fetch_budget", default=None)


def _pause_budget() -> Callable[[], None]:
    """Stop the current request's total-timeout clock; the returned function restarts it where it stood."""
    budget = _BUDGET.get()
    if budget is None or budget.when() is None:
        return lambda: None
    loop = asyncio.get_running_loop()
    remaining_s = budget.when() - loop.time()
    budget.reschedule(None)
    return lambda: budget.reschedule(loop.time() + remaining_s)


def _classify_exception(exc: BaseException) -> tuple[str, str]:
    """Stable error class and one-line message for an exception raised while fetching."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, GuardError):
        return exc.error_class, message
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timeout", f"{type(exc).__name__}: {message}"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "bad_scheme", message
    if isinstance(exc, httpx.InvalidURL | ValueError) and "URL" in message.upper():
        return "bad_url", message
    if isinstance(exc, httpx.ConnectError):
        return "connect_error", message
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return "protocol_error", message
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        return "read_error", message
    if isinstance(exc, zlib.error) or (brotli is not None and isinstance(exc, brotli.error)):
        return "decode_error", f"content decoding failed: {message}"
    if isinstance(exc, httpx.TransportError):
        return "transport_error", message
    return "internal_error", f"{type(exc).__name__}: {message}"


@dataclass
class _Attempt:
    final_url: str
    status: int | None
    headers: dict[str, str]
    body: bytes | None
    wire_bytes: int
    redirects: list[str]
    from_mirror: bool
    retry_at: datetime | None = None  # the answer's Retry-After is longer than the fetcher waits


class Fetcher:
    """Fetch requests through one client, one host gate and the shared robots cache."""

    def __init__(
        self, client: httpx.AsyncClient, transport: RoutingTransport, settings: FetchSettings
    ) -> None:
        self.client = client
        self.transport = transport
        self.settings = settings
        self.gate = HostGate(
            settings.per_host_connections,
            settings.per_host_delay_s,
            settings.max_connections,
            max_wait_s=settings.max_retry_after_s,
        )
        self._robots_locks: dict[str, asyncio.Lock] = {}

    async def fetch(self, request: FetchRequest) -> FetchResult:
        """Fetch one request with retries inside the total timeout; never raises."""
        started = time.perf_counter()
        fetched_at = datetime.now(UTC)
        attempts = 0
        error_class = error = retry_at = None
        attempt: _Attempt | None = None
        try:
            async with asyncio.timeout(self.settings.total_timeout_s) as budget:
                _BUDGET.set(budget)
                while True:
                    attempts += 1
                    attempt, error_class, error, retry_in = await self._try_once(request, attempts)
                    if retry_in is None or attempts > self.settings.max_retries:
                        break
                    if asyncio.get_running_loop().time() + retry_in > (budget.when() or 0.0):
                        break  # keep this attempt's answer rather than time out while waiting
                    await asyncio.sleep(retry_in)
        except HostDeferred as exc:  # the host is held past what a run waits: left for later, unsent
            error_class, error, retry_at = exc.error_class, str(exc), exc.retry_at
            attempt = None
        except TimeoutError:
            error_class, error = "timeout", f"total timeout of {self.settings.total_timeout_s:g} s exceeded"
            attempt = None
        except Exception as exc:  # the contract is "never raises": record anything unexpected
            error_class, error = _classify_exception(exc)
            attempt = None
        elapsed_ms = (time.perf_counter() - started) * 1000
        if attempt is None:
            return FetchResult(
                request.url,
                request.kind,
                request.url,
                None,
                {},
                None,
                elapsed_ms,
                fetched_at,
                error_class,
                error,
                attempts=attempts,
                retry_at=retry_at,
            )
        return FetchResult(
            request.url,
            request.kind,
            attempt.final_url,
            attempt.status,
            attempt.headers,
            attempt.body,
            elapsed_ms,
            fetched_at,
            error_class,
            error,
            attempt.wire_bytes,
            attempt.redirects,
            attempts,
            attempt.from_mirror,
            attempt.retry_at,
        )

    async def _try_once(
        self, request: FetchRequest, attempt_no: int
    ) -> tuple[_Attempt | None, str | None, str | None, float | None]:
        """One attempt: (response or None, error class, message, seconds before a retry or None)."""
        backoff_s = self.settings.retry_backoff_s * 2 ** (attempt_no - 1)
        try:
            attempt = await self.follow(request)
        except HostDeferred:
            raise
        except GuardError as exc:
            return None, exc.error_class, str(exc), None
        except _TRANSIENT_ERRORS as exc:
            error_class, error = _classify_exception(exc)
            return None, error_class, error, backoff_s
        status = attempt.status or 0
        if 200 <= status < 400:
            return attempt, None, None, None
        error_class, error = f"http_{status}", f"HTTP {status} from {attempt.final_url}"
        retry_in = None
        if status in RETRY_STATUSES:
            retry_after = parse_retry_after_s(attempt.headers.get("retry-after"), datetime.now(UTC))
            if retry_after is not None and not attempt.from_mirror:
                host_retry_at = HOST_SCHEDULE.defer_host(httpx.URL(attempt.final_url).host, retry_after)
                if retry_after > self.settings.max_retry_after_s:
                    attempt.retry_at = host_retry_at  # not waited out: the request is left for later
            if retry_after is None:
                # A 429 without a hint is left to the next poll; server errors get a short backoff.
                retry_in = None if status == 429 else backoff_s
            elif retry_after <= self.settings.max_retry_after_s:
                retry_in = retry_after
        return attempt, error_class, error, retry_in

    async def follow(self, request: FetchRequest, max_body_bytes: int | None = None) -> _Attempt:
        """GET the URL, following up to max_redirects redirects with every hop checked."""
        limit = max_body_bytes if max_body_bytes is not None else self.settings.max_body_bytes
        try:
            url = httpx.URL(request.url.strip())
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise GuardError("bad_url", f"invalid URL {request.url!r}: {exc}") from exc
        seen: set[str] = set()
        redirects: list[str] = []
        headers = {}
        if request.etag:
            headers["if-none-match"] = request.etag
        if request.last_modified:
            headers["if-modified-since"] = request.last_modified
        for _hop in range(self.settings.max_redirects + 1):
            check_scheme(url)
            seen.add(str(url))
            mirrored = self.transport.is_mirrored(url.host)
            if not mirrored and not self.settings.allow_private_networks:
                await check_public_host(url.host, url.port)
            if request.kind == "page" and self.settings.respect_robots:
                await self._check_robots(url)
            resume_budget = _pause_budget()
            async with self.gate.slot(url.host, polite=not mirrored) as extensions:
                resume_budget()
                async with self.client.stream("GET", url, headers=headers, extensions=extensions) as response:
                    status = response.status_code
                    location = response.headers.get("location")
                    if not 200 <= status < 300:
                        await drain_body(response, DRAIN_MAX_BYTES)
                    if status in REDIRECT_STATUSES and location:
                        redirects.append(str(url))
                        try:
                            url = url.join(location.strip())
                        except (httpx.InvalidURL, ValueError) as exc:
                            raise GuardError("bad_redirect", f"invalid Location {location!r}: {exc}") from exc
                        if str(url) in seen:
                            raise GuardError("redirect_loop", f"redirect loop back to {url}")
                        continue
                    body = None
                    wire_bytes = 0
                    if 200 <= status < 300:
                        body, wire_bytes = await read_body_bounded(response, limit)
                    result_headers = {
                        k.lower(): v for k, v in response.headers.items() if k.lower() not in _DROPPED_HEADERS
                    }
                    return _Attempt(str(url), status, result_headers, body, wire_bytes, redirects, mirrored)
        raise GuardError(
            "too_many_redirects", f"more than {self.settings.max_redirects} redirects from {request.url}"
        )

    async def _check_robots(self, url: httpx.URL) -> None:
        """Raise robots_disallowed when the host's robots.txt forbids `url`."""
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        lock = self._robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:
            rules = await ROBOTS_CACHE.rules_for(origin, self._load_robots)
        crawl_delay_s = rules.crawl_delay_s(ROBOTS_AGENT)
        if crawl_delay_s and not self.transport.is_mirrored(url.host):
            HOST_SCHEDULE.set_host_delay(url.host, crawl_delay_s)
        if not rules.allows(str(url), ROBOTS_AGENT):
            reason = rules.unreachable_reason or f"robots.txt of {origin} disallows {url.raw_path.decode()}"
            raise GuardError("robots_disallowed", reason)

    async def _load_robots(self, origin: str) -> RobotsRules:
        """Fetch and interpret `origin`/robots.txt through the same client and politeness gate."""
        try:
            attempt = await self.follow(FetchRequest(origin + "/robots.txt", "robots"), ROBOTS_MAX_BYTES)
        except BodyTooLarge:
            return RobotsRules(None)
        except HostDeferred:
            raise  # the page is deferred with its host; robots.txt is read when the host is asked again
        except Exception as exc:
            error_class, message = _classify_exception(exc)
            if error_class in ("http_404", "too_many_redirects", "redirect_loop"):
                return RobotsRules(None)
            return rules_from_response(None, None, f"{error_class}: {message}")
        return rules_from_response(attempt.status, attempt.body, None)


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One certificate-verifying TLS context per process: loading the CA bundle costs tens of milliseconds,
    which every batch (and every feed re-poll) would otherwise pay again."""
    return httpx.create_ssl_context()


def build_transport(settings: FetchSettings) -> RoutingTransport:
    """Network transport (a small connection pool per origin; the gate bounds requests in flight) behind the
    mirror router."""
    network = OriginPools(settings.per_host_connections, shared_ssl_context())
    mirror = MirrorTransport(Path(settings.mirror_root)) if settings.mirror_root else None
    return RoutingTransport(mirror, network)


def _client_headers(settings: FetchSettings) -> dict[str, str]:
    encodings = "gzip, deflate, br" if brotli is not None else "gzip, deflate"
    return {"user-agent": settings.header_user_agent(), "accept-encoding": encodings, "accept": ACCEPT}


async def fetch_all(
    requests: list[FetchRequest], settings: FetchSettings, finish: ResultHook | None = None
) -> list[FetchResult]:
    """Fetch every request concurrently within the politeness bounds; results keep the request order."""
    # `finish` is applied to each result as soon as it arrives (the ingest compresses page bodies there), so a
    # batch never holds all its raw bodies at once.
    transport = build_transport(settings)
    timeout = httpx.Timeout(
        connect=settings.connect_timeout_s,
        read=settings.read_timeout_s,
        write=settings.read_timeout_s,
        pool=settings.total_timeout_s,
    )
    async with httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
        headers=_client_headers(settings),
        trust_env=False,
    ) as client:
        fetcher = Fetcher(client, transport, settings)

        async def fetch_one(request: FetchRequest) -> FetchResult:
            result = await fetcher.fetch(request)
            return finish(result) if finish is not None else result

        return list(await asyncio.gather(*(fetch_one(request) for request in requests)))


def fetch_batch(
    requests: list[FetchRequest], settings: FetchSettings, finish: ResultHook | None = None
) -> list[FetchResult]:
    """Synchronous fetch_all; safe from plain threads and from code already inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(fetch_all(requests, settings, finish))
    # A loop is running in this thread: run the batch on a private loop in a helper thread.
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["results"] = asyncio.run(fetch_all(requests, settings, finish))
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="newsdesk-fetch", daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["results"]  # type: ignore[return-value]
