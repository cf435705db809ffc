"""Article revisions as decisions on plain data: whether a feed dates a change after the last fetch, which
refetched texts are new versions, and a short summary of what an edit changed."""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from transforms.records import FeedEntry
from transforms.timestamps import utc_naive


def entry_changed_at(entry: FeedEntry) -> datetime | None:
    """When the feed says the item last changed: its update time, else its publication time."""
    return utc_naive(entry.updated_at or entry.published_at)


def is_newer_version(changed_at: datetime | None, last_fetched_at: datetime | None) -> bool:
    """True when the feed dates a change of the page after the last time the page was fetched."""
    if changed_at is None or last_fetched_at is None:
        return False
    return utc_naive(changed_at) > utc_naive(last_fetched_at)


def summarise_diff(
    old_text: str, new_text: str, old_title: str | None = None, new_title: str | None = None
) -> str:
    """A short, human summary of what an edit changed: title, paragraphs, words added and removed."""
    parts = []
    if (old_title or "") != (new_title or ""):
        parts.append("title changed")
    old_paragraphs = [p.strip() for p in old_text.split("\n") if p.strip()]
    new_paragraphs = [p.strip() for p in new_text.split("\n") if p.strip()]
    kept = set(old_paragraphs) & set(new_paragraphs)
    changed = sum(1 for p in new_paragraphs if p not in kept)
    dropped = sum(1 for p in old_paragraphs if p not in kept)
    if changed or dropped:
        parts.append(f"{changed} of {len(new_paragraphs)} paragraphs new or edited, {dropped} gone")
    matcher = difflib.SequenceMatcher(None, old_text.split(), new_text.split(), autojunk=False)
    added = removed = 0
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if tag != "equal":
            removed += old_end - old_start
            added += new_end - new_start
    parts.append(f"+{added} words, -{removed} words")
    return "; ".join(parts)


def plan_revisions(
    rows: list[dict[str, Any]], stored: dict[str, dict[str, Any]], run_id: str, replaced_at: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The replaced versions to keep (`article_versions` rows) and the refetched rows whose text changed,
    with the stored publication and first-seen dates; `stored` holds each known article's current row."""
    versions, changed = [], []
    handled: set[str] = set()
    for row in rows:
        old = stored.get(row["article_id"])
        if old is None or old["content_hash"] == row["content_hash"] or row["article_id"] in handled:
            continue  # one new version per article and batch keeps (article_id, version) unique
        handled.add(row["article_id"])
        versions.append(
            {
                "article_id": row["article_id"],
                "version": old["versions"] + 1,
                "content_hash": old["content_hash"],
                "title": old["title"],
                "text": old["text"],
                "word_count": old["word_count"],
                "seen_at": old["updated_at"],
                "replaced_at": replaced_at,
                "diff_summary": summarise_diff(old["text"], row["text"], old["title"], row["title"]),
                "run_id": run_id,
            }
        )
        changed.append(
            {
                **row,
                "published_at": old["published_at"] or row["published_at"],
                "first_seen_at": old["first_seen_at"],
                "updated_at": replaced_at,
            }
        )
    return versions, changed
