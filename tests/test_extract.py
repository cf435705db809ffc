"""Extraction returns the body and metadata of a page, without comments or chrome."""

from datetime import datetime

from transforms.extract import extract_page, read_html_language

PARAGRAPH = "Fighters massed on the edges of the divided city as diplomats argued over the truce. " * 6

PAGE = f"""<!doctype html><html lang="en-GB"><head><title>Site | Big news</title>
<meta property="og:title" content="Rebels mass near Aleppo">
<meta property="article:published_time" content="2016-05-24T18:30:00-04:00">
<link rel="canonical" href="https://news.example/world/rebels-mass.html">
<meta name="author" content="Jane Roe"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Rebels mass near Aleppo</h1><p>{PARAGRAPH}</p><p>A second paragraph closes the report.</p></article>
<section class="comments"><div class="comment"><p>Reader comment that is not the article, great post!</p></div></section>
<footer>Copyright 2016 News Example</footer></body></html>"""


def test_extracts_body_and_metadata():
    page = extract_page(PAGE, "https://news.example/world/rebels-mass.html?utm_source=x")
    assert page is not None
    assert page.title == "Rebels mass near Aleppo"
    assert page.byline == "Jane Roe"
    assert page.published_at == datetime(2016, 5, 24, 22, 30)  # naive UTC
    assert page.extractor == "trafilatura"
    assert page.page_canonical == "https://news.example/world/rebels-mass.html"
    assert page.language == "en"
    assert "A second paragraph closes the report." in page.text
    assert "Copyright" not in page.text
    assert "Reader comment" not in page.text


def test_bytes_are_decoded():
    page = extract_page(PAGE.encode("utf-8"), "https://news.example/x")
    assert page is not None and "divided city" in page.text


def test_page_without_body_gives_none():
    assert extract_page("<html><body><div></div></body></html>", "https://news.example/") is None


def test_html_language():
    assert read_html_language('<html lang="ar-SY">') == "ar"
    assert read_html_language("<html>") is None


def test_full_timestamp_from_json_ld_is_kept():
    html = PAGE.replace('<meta property="article:published_time" content="2016-05-24T18:30:00-04:00">', "").replace(
        "</head>", '<script type="application/ld+json">{"datePublished": "2016-05-24T20:45:00+03:00"}</script></head>'
    )
    page = extract_page(html, "https://news.example/2016/05/24/rebels-mass.html")
    assert page is not None
    assert page.published_at == datetime(2016, 5, 24, 17, 45)
    assert [c.source for c in page.date_candidates if c.has_time] == ["jsonld"]
