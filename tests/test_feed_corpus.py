"""Every feed file of the shared corpus goes through parse_feed without an exception escaping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from transforms.feeds import parse_feed

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
INDEX = CORPUS / "feeds.jsonl"

pytestmark = pytest.mark.skipif(not INDEX.is_file(), reason="../shared/corpus is absent")


def corpus_records() -> list[dict]:
    """The feeds.jsonl index, or nothing when the corpus is absent."""
    if not INDEX.is_file():
        return []
    return [json.loads(line) for line in INDEX.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_corpus_feed_parses_without_exception():
    records = corpus_records()
    assert len(records) > 300
    failures = []
    for record in records:
        body = (CORPUS / record["file"]).read_bytes()
        try:
            parsed = parse_feed(body, "https://corpus.example/" + record["file"])
        except Exception as exc:  # the contract under test: nothing escapes
            failures.append(f"{record['file']}: {type(exc).__name__}: {exc}")
            continue
        if parsed.bozo:
            assert parsed.bozo_reason and "\n" not in parsed.bozo_reason, record["file"]
        for entry in parsed.entries:
            assert entry.guid, record["file"]
            assert entry.published_at is None or entry.published_at.utcoffset().total_seconds() == 0
            assert entry.error is not None or entry.link.startswith(("http://", "https://"))
    assert failures == []


def test_real_feeds_yield_entries():
    real = [r for r in corpus_records() if r["kind"] == "real"]
    errors, with_entries = [], 0
    for record in real:
        parsed = parse_feed((CORPUS / record["file"]).read_bytes(), "https://corpus.example/feed")
        if parsed.error:
            errors.append(f"{record['file']}: {parsed.error}")
        with_entries += bool(parsed.entries)
    assert errors == []
    assert with_entries >= len(real) - 2  # a saved Daily Mail snapshot genuinely has no items


def test_illformed_feeds_are_flagged():
    illformed = [r for r in corpus_records() if r["kind"] == "illformed"]
    flagged = 0
    for record in illformed:
        parsed = parse_feed((CORPUS / record["file"]).read_bytes(), "https://corpus.example/feed")
        flagged += parsed.bozo or parsed.error is not None
    # feedparser's own expectations: most of these are bozo; a few are only flagged by HTTP-level checks.
    assert flagged >= len(illformed) * 2 // 3


def test_latin1_feed_without_declaration_is_not_mojibake():
    path = CORPUS / "feeds/real/rss-parser/uolNoticias.rss"
    parsed = parse_feed(path.read_bytes(), "https://corpus.example/uol")
    text = " ".join((e.title or "") for e in parsed.entries)
    assert "Ã" not in text and "\ufffd" not in text
    assert any(ch in text for ch in "ãçéõá")
