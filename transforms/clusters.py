"""Near-duplicate clusters as decisions on plain data: which signed articles join, which member is canonical,
and which mark every other member gets.

Invariants the warehouse keeps with them (see docs/dedup.md, "Warehouse side"):
- each signed article has a `cluster_id`: the smallest article id of its connected group of near-duplicates;
- the cluster's canonical member is the earliest published (undated last; ties: longest text, then smallest
  id) and has no `content_hash`/`near_duplicate` mark;
- every other member has one, pointing at the canonical member, with method `content_hash` when its text
  hashes equal to the canonical's, else `near_duplicate` with the estimated Jaccard against the canonical.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from transforms.near_dupes import (
    DEFAULT_BANDS,
    DEFAULT_ROWS,
    DEFAULT_THRESHOLD,
    MINHASH_BYTES,
    MINHASH_VERSION,
    assign_clusters,
    band_hashes_batch,
    estimate_jaccard,
    is_empty_signature,
)
from transforms.syndication import detect_wire_credit

WINDOW_DAYS = 30
CONTENT_HASH = "content_hash"
NEAR_DUPLICATE = "near_duplicate"
CLUSTER_METHODS = frozenset({CONTENT_HASH, NEAR_DUPLICATE})


@dataclass(frozen=True)
class NearDupSettings:
    """How near-duplicates are found: the date window, the Jaccard threshold and the LSH banding."""

    window_days: int = WINDOW_DAYS
    threshold: float = DEFAULT_THRESHOLD
    bands: int = DEFAULT_BANDS
    rows: int = DEFAULT_ROWS

    def __post_init__(self) -> None:
        """Refuse settings that cannot work."""
        if self.window_days < 0:
            raise ValueError(f"window_days must be >= 0, got {self.window_days}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")


@dataclass
class Member:
    """A signed article as clustering sees it."""

    article_id: str
    cluster_id: str
    dated_at: datetime
    published_at: datetime | None
    text_chars: int
    content_hash: str
    minhash: np.ndarray


def canonical_key(member: Member) -> tuple:
    """Sort key of the canonical choice: earliest published, undated last, longest text, smallest id."""
    return (
        member.published_at is None,
        member.published_at or member.dated_at,
        -member.text_chars,
        member.article_id,
    )


def share_band(band_a: np.ndarray, band_b: np.ndarray) -> bool:
    """True when two band-hash rows agree in at least one band."""
    return bool(np.any(band_a == band_b))


def within_window(first: datetime, second: datetime, window_days: int) -> bool:
    """True when two article dates are at most the window apart."""
    return abs(first - second) <= timedelta(days=window_days)


def link_members(members: list[Member], settings: NearDupSettings) -> list[tuple[str, str]]:
    """Near-duplicate pairs among a few members by the rule of the SQL join: shared band, window, Jaccard."""
    signed = [m for m in members if not is_empty_signature(m.minhash)]
    if len(signed) < 2:
        return []
    bands = band_hashes_batch(np.stack([m.minhash for m in signed]), settings.bands, settings.rows)
    pairs = []
    for i, first in enumerate(signed):
        for j in range(i + 1, len(signed)):
            second = signed[j]
            if (
                share_band(bands[i], bands[j])
                and within_window(first.dated_at, second.dated_at, settings.window_days)
                and estimate_jaccard(first.minhash, second.minhash) >= settings.threshold
            ):
                pairs.append((first.article_id, second.article_id))
    return pairs


def plan_clusters(
    members: dict[str, Member],
    verified_pairs: Iterable[tuple[str, str]],
    dissolved: set[str],
    settings: NearDupSettings,
) -> dict[str, tuple[str, str]]:
    """New (cluster_id, canonical_id) of each touched member; stored clusters stay joined unless dissolved."""
    pairs: list[tuple[str, str]] = list(verified_pairs)
    by_cluster: dict[str, list[Member]] = {}
    for member in members.values():
        by_cluster.setdefault(member.cluster_id, []).append(member)
    for cluster_id, group in by_cluster.items():
        if cluster_id in dissolved:
            # A member's text changed: its old group is linked again from the stored signatures.
            pairs.extend(link_members(group, settings))
        else:
            anchor = group[0].article_id
            pairs.extend((anchor, other.article_id) for other in group[1:])
    roots = assign_clusters(sorted(members), pairs)
    components: dict[str, list[Member]] = {}
    for article_id, root in roots.items():
        components.setdefault(root, []).append(members[article_id])
    plan = {}
    for root, group in components.items():
        canonical = min(group, key=canonical_key)
        for member in group:
            plan[member.article_id] = (root, canonical.article_id)
    return plan


def verify_pairs(
    candidates: Iterable[tuple[str, str]],
    signatures: dict[str, np.ndarray],
    others: dict[str, tuple[str, np.ndarray]],
    threshold: float,
) -> tuple[list[tuple[str, str]], set[str]]:
    """Candidate pairs (batch article, stored article) whose estimated Jaccard reaches the threshold, as
    sorted (smaller id, larger id) pairs, and the clusters of the stored articles they reach."""
    pairs: set[tuple[str, str]] = set()
    clusters: set[str] = set()
    for article_id, other_id in candidates:
        if other_id not in others or article_id not in signatures:
            continue
        cluster_id, other_signature = others[other_id]
        if estimate_jaccard(signatures[article_id], other_signature) >= threshold:
            pairs.add((min(article_id, other_id), max(article_id, other_id)))
            clusters.add(cluster_id)
    return sorted(pairs), clusters


def may_pair(signature: np.ndarray, versions: Iterable[np.ndarray], threshold: float) -> bool:
    """Whether any of a stored article's signatures (one per text it had) reaches the threshold with this
    one."""
    return any(estimate_jaccard(signature, other) >= threshold for other in versions)


def choose_marks(
    members: dict[str, Member],
    plan: dict[str, tuple[str, str]],
    stored_marks: dict[str, tuple[str, str]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """The duplicate marks (article_id, duplicate_of, similarity, method) the plan wants that are not stored
    as such, and the canonical members whose stored mark must go. `stored_marks` maps an article to its
    stored (duplicate_of, method)."""
    wanted, canonicals = [], []
    for article_id, (_, canonical_id) in sorted(plan.items()):
        stored = stored_marks.get(article_id)
        if stored is not None and (stored[1] not in CLUSTER_METHODS or stored[0] not in members):
            # A URL alias under this id, or an exact copy of an article that was never signed (stored before
            # clustering existed): the mark stays, so the story is still counted once.
            continue
        if article_id == canonical_id:
            if stored is not None:
                canonicals.append(article_id)
            continue
        member, canonical = members[article_id], members[canonical_id]
        if member.content_hash == canonical.content_hash:
            method, similarity = CONTENT_HASH, 1.0
        else:
            method, similarity = NEAR_DUPLICATE, estimate_jaccard(member.minhash, canonical.minhash)
        if stored is not None and stored[0] == canonical_id and stored[1] == method:
            continue
        mark = {"article_id": article_id, "duplicate_of": canonical_id, "similarity": similarity}
        wanted.append({**mark, "method": method})
    return wanted, canonicals


def signature_rows(articles: list[dict[str, Any]], signed_at: datetime) -> list[dict[str, Any]]:
    """`article_signatures` rows of the batch's articles that carry a MinHash signature, one per article."""
    rows = []
    seen: set[str] = set()
    for article in articles:
        blob = article.get("minhash")
        if not blob or article["article_id"] in seen:
            continue
        seen.add(article["article_id"])
        if len(blob) != MINHASH_BYTES:
            raise ValueError(
                f"article {article['article_id']}: minhash is {len(blob)} bytes, expected {MINHASH_BYTES}"
            )
        wire_credit = article.get("wire_credit")
        if "wire_credit" not in article:
            wire_credit = detect_wire_credit(article.get("text") or "", article.get("title"))
        dated_at = article.get("published_at") or article.get("first_seen_at") or signed_at
        rows.append(
            {
                "article_id": article["article_id"],
                "dated_at": dated_at,
                "published_at": article.get("published_at"),
                "text_chars": len(article.get("text") or ""),
                "content_hash": article["content_hash"],
                "source": article.get("source") or "",
                "wire_credit": wire_credit,
                "minhash": bytes(blob),
                "minhash_version": MINHASH_VERSION,
                "signed_at": signed_at,
            }
        )
    return rows
