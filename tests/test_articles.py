"""Building articles from fetched pages: decoding, cleaning, ids, dates and reasons for rejects."""

from datetime import UTC, datetime

from flows.articles import PageJob, build_article, choose_published_at
from transforms.hashing import make_article_id

RUSSIAN = "Боевики собираются вокруг Алеппо, перемирие в Сирии рушится, переговоры в Женеве затягиваются. " * 8
PAGE = f"""<html><head><title>Сирия</title><link rel="canonical" href="https://ru.example/a/1.html"></head>
<body><article><h1>Наступление на Алеппо</h1><p>{RUSSIAN}</p><p>Конец сообщения.</p></article></body></html>"""


def test_page_in_a_legacy_charset_declared_only_by_http_is_decoded():
    job = PageJob(url="https://ru.example/a/1.html?utm_source=x", final_url="https://ru.example/a/1.html?utm_source=x",
                  body=PAGE.encode("windows-1251"), content_type="text/html; charset=windows-1251")
    outcome = build_article(job)
    assert outcome.article is not None, outcome.detail
    assert "Боевики собираются вокруг Алеппо" in outcome.article.text
    assert outcome.article.canonical_url == "https://ru.example/a/1.html"
    assert outcome.article.article_id == make_article_id("https://ru.example/a/1.html")
    assert outcome.article.source == "ru.example"


def test_empty_page_is_a_reason_not_an_exception():
    outcome = build_article(PageJob(url="https://a.example/x", final_url="https://a.example/x", body=b"<html></html>"))
    assert outcome.article is None
    assert outcome.reason in {"empty_extraction", "too_short"}


def test_binary_junk_is_a_reason_not_an_exception():
    outcome = build_article(PageJob(url="https://a.example/x", final_url="https://a.example/x", body=bytes(range(256)) * 40))
    assert outcome.article is None and outcome.reason


def test_feed_time_wins_when_the_page_only_knows_the_day():
    page_day = datetime(2016, 5, 24, tzinfo=UTC)
    entry_time = datetime(2016, 5, 24, 17, 45, tzinfo=UTC)
    assert choose_published_at(page_day, entry_time) == entry_time
    assert choose_published_at(None, entry_time) == entry_time
    assert choose_published_at(page_day, None) == page_day
    other_day = datetime(2016, 5, 20, 9, 0, tzinfo=UTC)
    assert choose_published_at(other_day, entry_time) == other_day


def test_a_stored_body_that_does_not_decode_is_a_failure_with_its_reason():
    job = PageJob(url="https://a.example/x", final_url="https://a.example/x", body_compressed=b"not zstd at all",
                  body_codec="zstd")
    outcome = build_article(job)
    assert outcome.article is None and outcome.reason == "extract_error"
    assert outcome.detail.startswith("BodyCodecError: zstd body of 15 bytes does not decode")
