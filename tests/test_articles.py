"""Building articles from fetched pages: decoding, cleaning, ids, dates and reasons for rejects."""

from datetime import UTC, datetime

from flows.stages.articles import PageJob, build_article
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


def dated_job(meta: str, feed_url: str = "https://ru.example/feed.xml", entry_time=None, fetched=None) -> PageJob:
    html = PAGE.replace("</head>", meta + "</head>")
    return PageJob(url="https://ru.example/a/1.html", final_url="https://ru.example/a/1.html", body=html.encode(),
                   feed_url=feed_url, entry_published_at=entry_time, fetched_at=fetched)


def test_page_timestamp_beats_the_feed_time_on_the_same_day():
    # Before: a page timestamp on the entry's day was taken for "the page only gives a day" and lost.
    meta = '<meta property="article:published_time" content="2016-05-24T20:45:00+03:00">'
    article = build_article(dated_job(meta, entry_time=datetime(2016, 5, 24, 9, 0, tzinfo=UTC),
                                      fetched=datetime(2016, 5, 25, 8, 0))).article
    assert article.published_at == datetime(2016, 5, 24, 17, 45)
    assert article.published_source == "meta"
    assert {c["source"] for c in article.date_candidates} == {"meta", "feed", "crawl"}


def test_feed_time_wins_when_the_page_only_knows_the_day():
    meta = '<meta property="article:published_time" content="2016-05-20">'
    article = build_article(dated_job(meta, entry_time=datetime(2016, 5, 24, 17, 45, tzinfo=UTC))).article
    assert (article.published_at, article.published_source) == (datetime(2016, 5, 24, 17, 45), "feed")


def test_a_warc_records_time_is_the_crawl_time_not_a_feed_time():
    warc_time = datetime(2016, 5, 24, 13, 35)
    article = build_article(dated_job("", feed_url="warc:CC-NEWS-20160524133500-00002.warc.gz",
                                      entry_time=warc_time)).article
    assert (article.published_at, article.published_source) == (warc_time, "crawl")
    meta = '<meta property="article:published_time" content="2016-05-24T20:45:00+03:00">'
    article = build_article(dated_job(meta, feed_url="warc:CC-NEWS-20160524133500-00002.warc.gz",
                                      entry_time=warc_time)).article
    assert (article.published_at, article.published_source) == (datetime(2016, 5, 24, 17, 45), "meta")


def test_a_page_date_after_the_fetch_is_not_believed():
    meta = '<meta property="article:published_time" content="2016-05-26T00:00:00Z">'
    article = build_article(dated_job(meta, entry_time=datetime(2016, 5, 24, 17, 45),
                                      fetched=datetime(2016, 5, 25))).article
    assert (article.published_at, article.published_source) == (datetime(2016, 5, 24, 17, 45), "feed")


def test_the_text_language_wins_over_missing_markup():
    article = build_article(dated_job("")).article
    assert (article.language, article.language_source) == ("ru", "text")
    assert article.language_confidence > 0.9 and article.extractor == "trafilatura"


def test_a_stored_body_that_does_not_decode_is_a_failure_with_its_reason():
    job = PageJob(url="https://a.example/x", final_url="https://a.example/x", body_compressed=b"not zstd at all",
                  body_codec="zstd")
    outcome = build_article(job)
    assert outcome.article is None and outcome.reason == "extract_error"
    assert outcome.detail.startswith("BodyCodecError: zstd body of 15 bytes does not decode")
