"""Feeds split over shards by a stable key, so that several workers poll a feed list without coordinating.

The key is the feed's registered site (bbc.co.uk for feeds.bbc.co.uk; the address itself for an IP), so every
feed of a site lands on one shard and its per-host politeness (spacing, connections, Retry-After) holds inside
one worker. The hash is SHA-1 of the key, stable across processes, machines and Python versions (unlike
`hash()`), so a feed keeps its shard for as long as the number of shards stays the same.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

from transforms.urls import registered_site_of

SHARD_TEXT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class ShardError(ValueError):
    """A shard given as text or numbers that names no shard."""


@dataclass(frozen=True)
class Shard:
    """Shard `number` of `count` (numbered from 1)."""

    number: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ShardError(f"the number of shards must be at least 1, not {self.count}")
        if not 1 <= self.number <= self.count:
            raise ShardError(f"shard {self.number} is not one of 1..{self.count}")

    def __str__(self) -> str:
        return f"{self.number}/{self.count}"

    def holds(self, feed_url: str) -> bool:
        """Tell whether a feed belongs to this shard."""
        return shard_of(feed_url, self.count) == self.number


def parse_shard(text: str) -> Shard:
    """A shard written as `K/N` (shard K of N, from 1)."""
    match = SHARD_TEXT.match(text or "")
    if not match:
        raise ShardError(f"a shard is written K/N, such as 2/4 (shard 2 of 4), not {text!r}")
    return Shard(int(match.group(1)), int(match.group(2)))


def shard_key(feed_url: str) -> str:
    """What decides a feed's shard: its registered site, or the whole URL when it has no host."""
    return registered_site_of(feed_url) or feed_url


def shard_of(feed_url: str, count: int) -> int:
    """The shard (1..count) a feed belongs to."""
    digest = hashlib.sha1(shard_key(feed_url).encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def shard_of_day(day: date, count: int) -> int:
    """The shard (1..count) a backfill day belongs to: days go round the shards in calendar order."""
    return day.toordinal() % count + 1
