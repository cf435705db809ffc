"""Lines that recur across a site's pages: their fingerprints, and which of them count as the site's
boilerplate ("Follow us on …", newsletter and "Read more" lines, standing credits) — docs/extraction.md."""

from __future__ import annotations

from collections.abc import Iterable

from transforms.extraction_cascade import SHORT_PARAGRAPH_WORDS, count_words, fingerprint_line

# A short line seen on at least this many distinct pages of a site (in SITE_LINE_WINDOW_DAYS) is boilerplate.
MIN_SITE_PAGES = 5
# Only the pages of this many days count: templates change, and the read stays as small as a month's lines.
SITE_LINE_WINDOW_DAYS = 30


def fingerprint_short_lines(text: str) -> set[int]:
    """The fingerprints of a text's short lines (under SHORT_PARAGRAPH_WORDS words): what a page adds to its
    site's line counts."""
    found = set()
    for line in text.splitlines():
        if line.strip() and count_words(line) < SHORT_PARAGRAPH_WORDS:
            fingerprint = fingerprint_line(line)
            if fingerprint is not None:
                found.add(fingerprint)
    return found


def choose_site_boilerplate(
    counts: Iterable[tuple[str, int, int]], min_pages: int = MIN_SITE_PAGES
) -> dict[str, frozenset[int]]:
    """Per site, the fingerprints of the lines seen on at least `min_pages` distinct pages, from
    (site, fingerprint, pages) counts."""
    chosen: dict[str, set[int]] = {}
    for site, fingerprint, pages in counts:
        if pages >= min_pages:
            chosen.setdefault(site, set()).add(fingerprint)
    return {site: frozenset(lines) for site, lines in chosen.items()}

