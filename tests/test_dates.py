"""The published_at rule on real pages of ../shared/corpus: each source of a date, the order between them,
and the dates it refuses."""

from __future__ import annotations

import gzip
import json
from datetime import datetime

import pytest

from transforms.dates import DateCandidate, choose_dates, make_candidate, parse_date_value
from transforms.extract import extract_page

CTPOST = "html/aeb/05844573ca7e1fba714d715bb11ca08c26e25328999c74a1cb3bc8a0e4399f0f.html.gz"  # JSON-LD, meta, <time>
SPUTNIK = "html/aeb/1f765c48780665e89cc3af1f7c9af47876e9fae9b5be4a936b0649e10f5e3198.html.gz"  # meta only
FR = "html/fundus/de/FrankfurterRundschau_2024_04_26.html.gz"  # <time datetime> only
TAGESZEITUNG = "html/fundus/it/Tageszeitung_2025_04_16.html.gz"  # a date in the URL only
ENTERMEDIA = "html/aeb/0ec95c7261d122f304728e90c983450ef1ce1e0b423546835c397d50aaf0d0f2.html.gz"  # text only
NRK = "html/fundus/no/NRK_2024_08_05.html.gz"  # published and modified in JSON-LD


def page_dates(corpus, page: str) -> list[DateCandidate]:
    """The date candidates extract_page finds on a corpus page."""
    row = next(json.loads(line) for line in (corpus / "pages.jsonl").open() if json.loads(line)["page"] == page)
    extracted = extract_page(gzip.decompress((corpus / page).read_bytes()), row["url"])
    assert extracted is not None
    return extracted.date_candidates


def chosen(candidates, fetched_at=None) -> tuple[datetime | None, str | None]:
    choice = choose_dates(candidates, fetched_at)
    return choice.published_at, choice.published_source


def test_json_ld_beats_meta_and_time_tags(corpus):
    candidates = page_dates(corpus, CTPOST)
    assert {c.source for c in candidates} == {"jsonld", "meta", "time_tag"}
    assert chosen(candidates) == (datetime(2019, 11, 20, 6, 35, 39), "jsonld")


def test_meta_timestamp_beats_the_feed_time(corpus):
    feed = make_candidate("feed", datetime(2019, 11, 18, 23, 0))
    assert chosen([*page_dates(corpus, SPUTNIK), feed]) == (datetime(2019, 11, 18, 21, 17, 27), "meta")


def test_time_tag_is_read_when_nothing_else_states_a_time(corpus):
    # The page gives local time without an offset: read as UTC (fundus' ground truth says 20:44+02:00).
    assert chosen(page_dates(corpus, FR)) == (datetime(2024, 4, 26, 20, 44), "time_tag")


def test_url_date_counts_when_the_page_states_none(corpus):
    candidates = page_dates(corpus, TAGESZEITUNG)
    assert chosen(candidates) == (datetime(2025, 4, 1), "url")
    # the feed's time beats a day from the URL
    feed = make_candidate("feed", datetime(2025, 4, 1, 13, 25))
    assert chosen([*candidates, feed]) == (datetime(2025, 4, 1, 13, 25), "feed")


def test_text_date_is_a_day_and_loses_to_the_feed(corpus):
    candidates = page_dates(corpus, ENTERMEDIA)
    assert [(c.source, c.has_time) for c in candidates] == [("text", False)]
    assert chosen(candidates) == (datetime(2018, 8, 25), "text")
    assert chosen([*candidates, make_candidate("feed", datetime(2018, 8, 25, 9, 30))])[1] == "feed"


def test_modified_time_is_kept_apart(corpus):
    choice = choose_dates(page_dates(corpus, NRK), None)
    assert (choice.published_at, choice.published_source) == (datetime(2024, 8, 5, 11, 5, 32), "jsonld")
    assert choice.modified_at == datetime(2024, 8, 5, 11, 52, 8)


def test_a_page_date_after_the_fetch_falls_back_to_the_crawl_time(corpus):
    crawl = datetime(2018, 1, 1, 12, 0)
    candidates = [*page_dates(corpus, SPUTNIK), make_candidate("crawl", crawl)]
    assert chosen(candidates, crawl) == (crawl, "crawl")


def test_dates_before_1990_are_refused():
    old = make_candidate("meta", "1970-01-01T00:00:00Z")
    assert chosen([old]) == (None, None)
    assert chosen([old, make_candidate("url", "2016-05-24")]) == (datetime(2016, 5, 24), "url")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2016-05-24T20:45:00+03:00", (datetime(2016, 5, 24, 17, 45), True)),
        ("2016-05-24", (datetime(2016, 5, 24), False)),
        ("Tue, 24 May 2016 17:45:00 GMT", (datetime(2016, 5, 24, 17, 45), True)),
        ("yesterday", None),
    ],
)
def test_date_values_are_read_as_naive_utc(value, expected):
    assert parse_date_value(value) == expected
