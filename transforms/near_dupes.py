"""Near-duplicate primitives: word shingles, MinHash signatures, LSH band hashes and Jaccard estimates.

Everything here is deterministic across processes, runs and machines: tokens are hashed with BLAKE2b (never
Python's salted hash()), and the MinHash permutations are derived from the seed by BLAKE2b as well.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

from transforms.hashing import normalise_for_hash
from transforms.syndication import strip_dateline

DEFAULT_NUM_PERM = 128
DEFAULT_SHINGLE_WORDS = 5
DEFAULT_SEED = 1
# Tuned by bench/eval_dedup.py (see docs/dedup.md): estimated Jaccard of word 5-shingles at or above which two
# articles are near-duplicates. Same-topic different reports reached 0.27 at most, syndicated copies (all
# edits at once) 0.31 at the 1st percentile. 32 bands of 2 rows propose a pair at J=0.35 with probability
# 0.98 and lost 4 of 22,256 labelled pairs; 4 rows per band lost 880.
DEFAULT_THRESHOLD = 0.35
DEFAULT_BANDS = 32
DEFAULT_ROWS = 2
# Stored band hashes are only comparable when made the same way: a warehouse keeps this beside them and
# recomputes the bands of older articles when it changes.
MINHASH_VERSION = (
    f"minhash-v1:k{DEFAULT_SHINGLE_WORDS}:perm{DEFAULT_NUM_PERM}:seed{DEFAULT_SEED}:bands{DEFAULT_BANDS}x{DEFAULT_ROWS}"
)

MINHASH_DTYPE = np.dtype("<u4")  # a signature as stored: uint32 little-endian
MINHASH_BYTES = DEFAULT_NUM_PERM * MINHASH_DTYPE.itemsize
EMPTY_SLOT = np.uint32(0xFFFFFFFF)  # every slot of the signature of a text without shingles
_UINT64 = np.uint64
_MIX_1 = _UINT64(0xBF58476D1CE4E5B9)
_MIX_2 = _UINT64(0x94D049BB133111EB)
_GOLDEN = _UINT64(0x9E3779B97F4A7C15)
_SHIFT_30, _SHIFT_27, _SHIFT_31, _SHIFT_32 = _UINT64(30), _UINT64(27), _UINT64(31), _UINT64(32)
# Ideographs and kana carry no spaces between words: each character is a token of its own there.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RE = re.compile(f"[{_CJK}]")
CJK_TOKEN_RE = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")
# One (shingles x permutations) uint64 block is capped near 4 MB so that it stays in cache.
_BLOCK_CELLS = 1 << 19


def _mix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijective scramble of 64-bit integers (wraps modulo 2**64)."""
    values = values ^ (values >> _SHIFT_30)
    values = values * _MIX_1
    values = values ^ (values >> _SHIFT_27)
    values = values * _MIX_2
    return values ^ (values >> _SHIFT_31)


@lru_cache(maxsize=1 << 18)
def _hash_token(token: str) -> int:
    """Stable 64-bit hash of one token."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def tokenise_for_shingles(text: str) -> list[str]:
    """Tokens of a text as shingled: dateline dropped, normalised as for hashing, CJK split per character."""
    normalised = normalise_for_hash(strip_dateline(text or ""))
    return CJK_TOKEN_RE.findall(normalised) if CJK_RE.search(normalised) else normalised.split()


def _shingle_hashes(text: str, k: int) -> np.ndarray:
    """uint64 hashes of a text's word k-shingles in text order, repeats included."""
    if k < 1:
        raise ValueError(f"shingle size k must be >= 1, got {k}")
    tokens = tokenise_for_shingles(text)
    if not tokens:
        return np.empty(0, dtype=np.uint64)
    token_hashes = np.fromiter(map(_hash_token, tokens), dtype=np.uint64, count=len(tokens))
    width = min(k, len(tokens))
    count = len(tokens) - width + 1
    shingles = np.zeros(count, dtype=np.uint64)
    # Order-sensitive rolling combination of the k token hashes of each window.
    for offset in range(width):
        shingles = _mix64(shingles * _GOLDEN + token_hashes[offset:offset + count])
    return shingles


def shingle_words(text: str, k: int = DEFAULT_SHINGLE_WORDS) -> np.ndarray:
    """Sorted unique uint64 hashes of a text's word k-shingles; a text shorter than k words is one shingle."""
    return np.unique(_shingle_hashes(text, k))


@lru_cache(maxsize=16)
def _permutation_params(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Multipliers (odd) and offsets of the num_perm hash functions, derived from the seed by BLAKE2b."""
    if num_perm < 1:
        raise ValueError(f"num_perm must be >= 1, got {num_perm}")
    raw = b"".join(
        hashlib.blake2b(f"newsdesk-minhash:{seed}:{index}".encode(), digest_size=16).digest()
        for index in range(num_perm)
    )
    words = np.frombuffer(raw, dtype="<u8").reshape(num_perm, 2).astype(np.uint64)
    multipliers = words[:, 0] | _UINT64(1)
    offsets = words[:, 1]
    multipliers.setflags(write=False)
    offsets.setflags(write=False)
    return multipliers, offsets


def _minhash_of_shingles(shingles: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """uint32 signature of one set of shingle hashes (repeats do not change a minimum)."""
    if shingles.size == 0:
        return np.full(num_perm, EMPTY_SLOT, dtype=np.uint32)
    multipliers, offsets = _permutation_params(num_perm, seed)
    best = np.full(num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
    step = max(1, _BLOCK_CELLS // num_perm)
    for start in range(0, shingles.size, step):
        block = shingles[start:start + step, None] * multipliers[None, :] + offsets[None, :]
        np.minimum(best, block.min(axis=0), out=best)
    # Multiply-shift hashing: the high 32 bits of a*x + b (mod 2**64) are the permuted value.
    return (best >> _SHIFT_32).astype(np.uint32)


def compute_minhash(
    text: str, num_perm: int = DEFAULT_NUM_PERM, seed: int = DEFAULT_SEED, k: int = DEFAULT_SHINGLE_WORDS
) -> np.ndarray:
    """MinHash signature (uint32, shape (num_perm,)) of a text's word k-shingles; deterministic everywhere."""
    return _minhash_of_shingles(_shingle_hashes(text, k), num_perm, seed)


def compute_minhashes(
    texts: Sequence[str],
    num_perm: int = DEFAULT_NUM_PERM,
    seed: int = DEFAULT_SEED,
    k: int = DEFAULT_SHINGLE_WORDS,
) -> np.ndarray:
    """MinHash signatures of many texts, uint32, shape (len(texts), num_perm); rows equal compute_minhash."""
    signatures = np.empty((len(texts), num_perm), dtype=np.uint32)
    # One document at a time: its (shingles x permutations) block stays in cache, which measured faster than
    # one large min-reduce over many documents (bench/eval_dedup.py).
    for row, text in enumerate(texts):
        signatures[row] = _minhash_of_shingles(_shingle_hashes(text, k), num_perm, seed)
    return signatures


def encode_minhash(signature: np.ndarray) -> bytes:
    """A MinHash signature as stored: uint32 little-endian bytes."""
    return np.asarray(signature, dtype=np.uint32).astype(MINHASH_DTYPE).tobytes()


def decode_minhash(blob: bytes) -> np.ndarray:
    """The stored bytes of a MinHash signature back as a uint32 array."""
    return np.frombuffer(blob, dtype=MINHASH_DTYPE).astype(np.uint32)


def sign_texts(texts: Sequence[str]) -> list[bytes]:
    """The stored MinHash signature bytes of each text."""
    return [encode_minhash(signature) for signature in compute_minhashes(texts)]


def is_empty_signature(signature: np.ndarray) -> bool:
    """True for the signature of a text that had no shingles at all."""
    return bool(np.all(np.asarray(signature) == EMPTY_SLOT))


def band_hashes_batch(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Band hashes of many signatures, shape (n, bands), int64; a band's hash also encodes its index."""
    signatures = np.atleast_2d(np.asarray(signatures))
    if bands < 1 or rows < 1:
        raise ValueError(f"bands and rows must be >= 1, got bands={bands} rows={rows}")
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"bands*rows = {bands * rows} exceeds the signature length {signatures.shape[1]}")
    slots = signatures[:, : bands * rows].astype(np.uint64).reshape(signatures.shape[0], bands, rows)
    combined = np.broadcast_to(_mix64(np.arange(1, bands + 1, dtype=np.uint64)), slots.shape[:2]).copy()
    for row in range(rows):
        combined = _mix64(combined * _GOLDEN + slots[:, :, row])
    return combined.view(np.int64)


def band_hashes(signature: np.ndarray, bands: int = DEFAULT_BANDS, rows: int = DEFAULT_ROWS) -> list[int]:
    """One signed 64-bit hash per LSH band (fits DuckDB BIGINT); [] for a text without shingles."""
    signature = np.asarray(signature)
    if is_empty_signature(signature):
        return []
    return [int(value) for value in band_hashes_batch(signature[None, :], bands, rows)[0]]


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Jaccard similarity estimated as the share of equal MinHash slots; 0.0 when either text was empty."""
    sig_a, sig_b = np.asarray(sig_a), np.asarray(sig_b)
    if sig_a.shape != sig_b.shape:
        raise ValueError(f"signatures differ in length: {sig_a.shape} vs {sig_b.shape}")
    if is_empty_signature(sig_a) or is_empty_signature(sig_b):
        return 0.0
    return float(np.count_nonzero(sig_a == sig_b)) / sig_a.size


def candidate_probability(similarity: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """Probability that two texts of this Jaccard similarity share at least one of the bands."""
    return 1.0 - (1.0 - np.asarray(similarity, dtype=float) ** rows) ** bands


def choose_bands(
    threshold: float,
    num_perm: int = DEFAULT_NUM_PERM,
    false_positive_weight: float = 0.1,
    false_negative_weight: float = 0.9,
) -> tuple[int, int]:
    """LSH (bands, rows) with bands*rows <= num_perm minimising weighted missed and spurious candidate mass.

    Missed candidates are lost for good while spurious ones only cost a Jaccard check, so misses weigh more
    by default.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    below = np.linspace(0.0, threshold, 201)
    above = np.linspace(threshold, 1.0, 201)
    best: tuple[float, int, int] | None = None
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            false_positive = np.trapezoid(candidate_probability(below, bands, rows), below)
            false_negative = np.trapezoid(1.0 - candidate_probability(above, bands, rows), above)
            cost = false_positive_weight * false_positive + false_negative_weight * false_negative
            if best is None or cost < best[0] - 1e-12:
                best = (cost, bands, rows)
    assert best is not None
    return best[1], best[2]


def find_candidate_pairs(band_matrix: np.ndarray) -> set[tuple[int, int]]:
    """Row-index pairs (i < j) sharing any band hash: the in-memory twin of the warehouse band join."""
    band_matrix = np.atleast_2d(np.asarray(band_matrix))
    pairs: set[tuple[int, int]] = set()
    for band in range(band_matrix.shape[1]):
        buckets: dict[int, list[int]] = {}
        for row, value in enumerate(band_matrix[:, band].tolist()):
            buckets.setdefault(value, []).append(row)
        for members in buckets.values():
            if len(members) > 1:
                pairs.update((a, b) for index, a in enumerate(members) for b in members[index + 1:])
    return pairs


def assign_clusters(ids: Iterable[str], duplicate_pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Cluster id per article: the smallest id in its connected duplicate group (deterministic)."""
    parent = {article_id: article_id for article_id in ids}

    def root(article_id: str) -> str:
        """Representative of an article's group, with path halving."""
        while parent[article_id] != article_id:
            parent[article_id] = parent[parent[article_id]]
            article_id = parent[article_id]
        return article_id

    for first, second in duplicate_pairs:
        parent.setdefault(first, first)
        parent.setdefault(second, second)
        root_first, root_second = root(first), root(second)
        if root_first != root_second:
            low, high = sorted((root_first, root_second))
            parent[high] = low
    return {article_id: root(article_id) for article_id in parent}
