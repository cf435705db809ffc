"""What the fetcher is asked for and what it answers: one request, one result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class FetchRequest:
    """One URL to fetch; `kind` is "feed" or "page"; validators make the GET conditional."""

    url: str
    kind: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class FetchResult:
    """Outcome of one fetch: a response (any status) or a failure with a stable `error_class`."""

    url: str
    kind: str
    final_url: str
    status: int | None
    headers: dict[str, str]  # lower-case names; body is already decoded, so content-encoding is dropped
    body: bytes | None
    elapsed_ms: float
    fetched_at: datetime
    error_class: str | None
    error: str | None
    wire_bytes: int = 0  # bytes received on the wire (compressed), all attempts' final response
    redirects: list[str] = field(default_factory=list)  # URLs that answered with a redirect, in order
    attempts: int = 1
    from_mirror: bool = False
    # When the host may be asked again: set when it asked (Retry-After) for a longer wait than
    # max_retry_after_s, on the answer that asked and on the requests to that host left unsent ("deferred").
    retry_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """True for a 2xx response with a body."""
        return self.status is not None and 200 <= self.status < 300 and self.body is not None

    @property
    def not_modified(self) -> bool:
        """True for a 304 answer to a conditional GET."""
        return self.status == 304


ResultHook = Callable[[FetchResult], FetchResult]
