"""Content hashes and article ids: equal for texts that differ only in case, spacing or punctuation."""

from __future__ import annotations

import hashlib
import re
import unicodedata

WHITESPACE_RE = re.compile(r"\s+")
ARTICLE_ID_HEX_CHARS = 16


def _is_punctuation(char: str) -> bool:
    """True for Unicode punctuation (categories P*), which never changes what a text says."""
    return unicodedata.category(char).startswith("P")


# Punctuation code points found by scanning the BMP once; str.translate with a table is much faster than a
# per-character category test on long texts.
_PUNCTUATION_TABLE = {code: " " for code in range(0x10000) if _is_punctuation(chr(code))}
# Zero-width and soft-hyphen characters disappear rather than split words.
_PUNCTUATION_TABLE.update(dict.fromkeys((0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)))


def normalise_for_hash(text: str) -> str:
    """NFKC, casefolded text with punctuation dropped and whitespace runs collapsed to one space."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return WHITESPACE_RE.sub(" ", folded.translate(_PUNCTUATION_TABLE)).strip()


def hash_content(text: str) -> str:
    """Hex SHA-256 of the normalised text (64 characters)."""
    return hashlib.sha256(normalise_for_hash(text).encode("utf-8")).hexdigest()


def make_article_id(canonical_url: str) -> str:
    """Deterministic 16-hex-character article id from a canonical URL."""
    digest = hashlib.sha256(canonical_url.strip().encode("utf-8")).hexdigest()
    return digest[:ARTICLE_ID_HEX_CHARS]
