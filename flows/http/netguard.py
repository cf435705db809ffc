"""Network guards: allowed URL schemes and refusal of loopback, private, link-local and metadata addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time

import httpx

ALLOWED_SCHEMES = ("http", "https")

# Cloud metadata endpoints that are not covered by the generic private/link-local ranges.
_METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}
)


class GuardError(Exception):
    """A URL refused before any connection; `error_class` is the stable slug."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class


def is_public_address(address: str) -> bool:
    """True when an IP address is globally routable and not a known metadata endpoint."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA_ADDRESSES:
        return False
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_scheme(url: httpx.URL) -> None:
    """Refuse anything but http/https with a host."""
    if url.scheme not in ALLOWED_SCHEMES:
        raise GuardError("bad_scheme", f"scheme {url.scheme or '(none)'!r} is not allowed (http/https only)")
    if not url.host:
        raise GuardError("bad_url", f"URL has no host: {url}")


_VERDICT_TTL_S = 300.0
_verdicts: dict[str, tuple[float, GuardError | None]] = {}  # host -> (expires, refusal or None)


async def check_public_host(host: str, port: int | None) -> None:
    """Refuse `host` when any of its addresses is non-public; verdicts are cached for a few minutes."""
    key = host.lower()
    cached = _verdicts.get(key)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        if cached[1] is not None:
            raise GuardError(cached[1].error_class, str(cached[1]))
        return
    try:
        await resolve_and_check(host, port)
    except GuardError as refusal:
        if refusal.error_class == "private_address":
            _verdicts[key] = (now + _VERDICT_TTL_S, refusal)
        raise
    _verdicts[key] = (now + _VERDICT_TTL_S, None)


async def resolve_and_check(host: str, port: int | None) -> None:
    """Resolve `host` and refuse it when any address is loopback, private, link-local or metadata."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise GuardError("dns_error", f"cannot resolve {host!r}: {exc}") from exc
        addresses = sorted({str(info[4][0]) for info in infos})
    for address in addresses:
        if not is_public_address(address):
            raise GuardError("private_address", f"{host!r} resolves to non-public address {address}")
