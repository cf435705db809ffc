"""Revision decisions on plain rows: a change after the last fetch, the versions kept, the diff summary."""

from __future__ import annotations

from datetime import UTC, datetime

from transforms.records import FeedEntry
from transforms.revisions import entry_changed_at, is_newer_version, plan_revisions, summarise_diff

REPLACED_AT = datetime(2016, 5, 4, 9, 0)


def stored_row(article_id: str, content_hash: str, versions: int = 0) -> dict:
    """An article as the warehouse holds it before the refetch."""
    return {
        "article_id": article_id,
        "versions": versions,
        "content_hash": content_hash,
        "title": "Ten killed",
        "text": "Ten were killed.",
        "word_count": 3,
        "updated_at": datetime(2016, 5, 3, 8, 0),
        "published_at": datetime(2016, 5, 3, 7, 0),
        "first_seen_at": datetime(2016, 5, 3, 7, 30),
    }


def refetched(article_id: str, content_hash: str) -> dict:
    """An article row built from the refetched page."""
    return {
        "article_id": article_id,
        "content_hash": content_hash,
        "title": "Twelve killed",
        "text": "Twelve were killed.",
        "published_at": None,
        "first_seen_at": REPLACED_AT,
    }


def test_a_change_counts_only_after_the_last_fetch():
    fetched = datetime(2016, 5, 3, 12, 0)
    assert is_newer_version(datetime(2016, 5, 3, 12, 5, tzinfo=UTC), fetched)
    assert not is_newer_version(datetime(2016, 5, 3, 11, 0), fetched)
    assert not is_newer_version(None, fetched)


def test_diff_summary_names_title_paragraphs_and_words():
    old = "First paragraph stays.\nSecond paragraph says ten were killed."
    new = "First paragraph stays.\nSecond paragraph says twelve were killed.\nA third paragraph is new."
    summary = summarise_diff(old, new, "Ten killed", "Twelve killed")
    assert summary == "title changed; 2 of 3 paragraphs new or edited, 1 gone; +6 words, -1 words"
    assert summarise_diff(old, old) == "+0 words, -0 words"


def test_the_feed_s_update_time_wins_over_its_publication_time():
    published, updated = datetime(2016, 5, 3, 8, 0, tzinfo=UTC), datetime(2016, 5, 4, 7, 30, tzinfo=UTC)
    entry = FeedEntry(feed_url="f", guid="g", link="https://x.example/a", published_at=published)
    assert entry_changed_at(entry) == datetime(2016, 5, 3, 8, 0)
    entry.updated_at = updated
    assert entry_changed_at(entry) == datetime(2016, 5, 4, 7, 30)


def test_only_changed_known_articles_get_a_version_once_per_batch():
    stored = {"a1": stored_row("a1", "h1", versions=1), "b2": stored_row("b2", "same")}
    rows = [refetched("a1", "h2"), refetched("a1", "h3"), refetched("b2", "same"), refetched("c3", "new")]
    versions, changed = plan_revisions(rows, stored, "r2", REPLACED_AT)
    assert [(v["article_id"], v["version"], v["content_hash"], v["text"]) for v in versions] == [
        ("a1", 2, "h1", "Ten were killed.")
    ]
    assert versions[0]["diff_summary"] == summarise_diff("Ten were killed.", "Twelve were killed.", "Ten killed", "x")
    assert [(c["article_id"], c["content_hash"], c["published_at"], c["first_seen_at"]) for c in changed] == [
        ("a1", "h2", datetime(2016, 5, 3, 7, 0), datetime(2016, 5, 3, 7, 30))
    ]
    assert changed[0]["updated_at"] == REPLACED_AT
