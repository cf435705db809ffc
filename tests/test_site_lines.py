"""Site lines: a short line recurring on many pages of one site is its boilerplate. The pure rule, the cascade
dropping such lines, and real ingests of a loopback site whose pages share a line (kept while the site has no
history, dropped once the warehouse has seen it on MIN_SITE_PAGES pages)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from lxml.html import fromstring

from flows.ingest import ingest
from tests.sites import serve_one_feed_site
from transforms.extraction_cascade import drop_site_lines, fingerprint_line, read_readability, run_cascade
from transforms.site_lines import MIN_SITE_PAGES, choose_site_boilerplate, fingerprint_short_lines
from warehouse.clock import now_utc
from warehouse.db import open_warehouse, run_transaction, write_session
from warehouse.site_lines import insert_site_lines, select_site_line_counts

BODY = "The council voted late on Tuesday to reopen the harbour road after weeks of repairs and protests. " * 3
PROMO = "Get the harbour desk's weekly digest in your inbox every Friday."
WORDS = ("harbour cranes stood idle while dockworkers argued over the new contract and the ministry promised "
         "talks before the end of the month, leaving ships waiting offshore for days")


def test_a_fingerprint_ignores_case_punctuation_and_spacing():
    assert fingerprint_line("Follow us on  Twitter!") == fingerprint_line("follow us on twitter")
    assert fingerprint_line("Follow us on Twitter") != fingerprint_line("Follow us on Facebook")
    assert fingerprint_line(" -- ") is None


def test_only_short_lines_are_fingerprinted():
    assert fingerprint_short_lines(f"{PROMO}\n\n{BODY}") == {fingerprint_line(PROMO)}


def test_a_line_is_boilerplate_from_min_pages_on():
    counts = [("a.example", 1, MIN_SITE_PAGES), ("a.example", 2, MIN_SITE_PAGES - 1), ("b.example", 3, 40)]
    assert choose_site_boilerplate(counts) == {"a.example": frozenset({1}), "b.example": frozenset({3})}


def test_boilerplate_lines_are_dropped_long_paragraphs_never():
    long_line = BODY.strip()
    boilerplate = frozenset({fingerprint_line(PROMO), fingerprint_line(long_line)})
    assert drop_site_lines(f"{long_line}\n{PROMO}\n{long_line}", boilerplate) == (f"{long_line}\n{long_line}", 1)
    assert drop_site_lines(f"{long_line}\n{PROMO}", frozenset()) == (f"{long_line}\n{PROMO}", 0)


def test_the_cascade_drops_a_line_that_readability_confirms_when_the_site_repeats_it():
    page = f"<html><body><article><p>{BODY}</p><p>{PROMO}</p><p>{BODY}</p></article></body></html>"
    text = f"{BODY.strip()}\n{PROMO}\n{BODY.strip()}"
    opinion = read_readability(fromstring(page))
    assert run_cascade(text, opinion, None).text == text  # readability keeps it: it is in the article
    result = run_cascade(text, opinion, None, boilerplate=frozenset({fingerprint_line(PROMO)}))
    assert (result.text, result.extractor) == (f"{BODY.strip()}\n{BODY.strip()}", "trafilatura+site_lines")


def test_a_page_loaded_twice_counts_once_and_old_pages_not_at_all(warehouse):
    now = now_utc()
    rows = [{"article_id": f"a{n}", "final_url": f"https://news.example/{n}", "text": f"{BODY}\n\n{PROMO}"}
            for n in range(3)]
    with write_session(warehouse) as connection:
        run_transaction(connection, lambda c: insert_site_lines(c, rows[:2], now - timedelta(days=40)))
        for _ in range(2):  # a retried batch, or two runs loading the same pages
            run_transaction(connection, lambda c: insert_site_lines(c, rows[1:], now))
        counts = select_site_line_counts(connection, ["news.example", "other.example"], now, min_pages=1)
    assert counts == [("news.example", fingerprint_line(PROMO), 2)]  # a0 was seen 40 days ago only


def article_page(number: int) -> str:
    """An article of the harbour site: its own body, and the site's promotion line inside the article."""
    paragraphs = "".join(f"<p>{WORDS} (report {number}, paragraph {p}).</p>" for p in range(3))
    return (f"<html lang='en'><head><title>Harbour report {number}</title></head><body><article>"
            f"<h1>Harbour report {number}</h1>{paragraphs}<p>{PROMO}</p></article></body></html>")


def publish(root: Path, numbers: range, origin: str) -> None:
    """Write the pages `numbers` and a feed listing only them."""
    for number in numbers:
        (root / f"report-{number}.html").write_text(article_page(number), encoding="utf-8")
    items = "".join(
        f"<item><title>Harbour report {n}</title><link>{origin}/report-{n}.html</link><guid>report-{n}</guid></item>"
        for n in numbers
    )
    feed = f"<?xml version='1.0'?><rss version='2.0'><channel><title>Harbour</title>{items}</channel></rss>"
    (root / "feed.xml").write_text(feed, encoding="utf-8")


@pytest.fixture
def harbour_site(tmp_path):
    """A one-feed site on loopback: (folder, origin, sources file)."""
    with serve_one_feed_site(tmp_path, "Harbour") as site:
        yield site


def read_texts(db: Path) -> dict[str, tuple[str, str]]:
    """Each stored article's (text, extractor), by the number of its report."""
    with open_warehouse(db, read_only=True) as connection:
        rows = connection.execute("SELECT final_url, text, extractor FROM articles").fetchall()
    return {url.rsplit("-", 1)[1].removesuffix(".html"): (text, extractor) for url, text, extractor in rows}


def test_a_shared_line_is_kept_until_the_site_has_shown_it_on_enough_pages(prefect_harness, harbour_site, tmp_path):
    root, origin, sources = harbour_site
    db = tmp_path / "news.duckdb"
    publish(root, range(0, MIN_SITE_PAGES), origin)
    first = ingest(sources=str(sources), db=str(db), force_poll=True)
    assert first["counts"]["loaded_articles"] == MIN_SITE_PAGES
    texts = read_texts(db)
    assert all(PROMO in text and extractor != "trafilatura+site_lines" for text, extractor in texts.values())
    assert count_pages_with(db, PROMO) == (origin.removeprefix("http://"), MIN_SITE_PAGES)

    publish(root, range(MIN_SITE_PAGES, MIN_SITE_PAGES + 2), origin)  # the site's next pages
    second = ingest(sources=str(sources), db=str(db), force_poll=True)
    assert second["counts"]["loaded_articles"] == 2
    later = {number: value for number, value in read_texts(db).items() if int(number) >= MIN_SITE_PAGES}
    assert len(later) == 2
    for text, extractor in later.values():
        assert PROMO not in text and "paragraph 2" in text
        assert extractor == "trafilatura+site_lines"
    # Pages that dropped the line still count it, so it stays boilerplate instead of coming back later.
    assert count_pages_with(db, PROMO) == (origin.removeprefix("http://"), MIN_SITE_PAGES + 2)


def count_pages_with(db: Path, line: str) -> tuple[str, int]:
    """The site and the number of distinct pages that site_lines records a line on."""
    with open_warehouse(db, read_only=True) as connection:
        return connection.execute(
            "SELECT site, count(DISTINCT article_id) FROM site_lines WHERE line_hash = ? GROUP BY site",
            [fingerprint_line(line)],
        ).fetchone()
