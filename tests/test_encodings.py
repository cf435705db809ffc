"""decode_html: BOM, HTTP charset, <meta charset>, XML declaration and sniffing, without mojibake."""

from __future__ import annotations

import codecs
import gzip
import json
import re

import pytest

from transforms.encodings import decode_html, detect_encoding, normalise_charset

RUSSIAN = "Сирийская армия продолжила наступление в районе Алеппо; перемирие нарушено."
ARABIC = "قالت مصادر في حلب إن الهدنة انهارت"


def page(text: str, meta: str = "") -> str:
    """A small HTML page around `text`."""
    return f"<html><head>{meta}<title>t</title></head><body><p>{text}</p></body></html>"


def test_windows_1251_by_meta_charset():
    body = page(RUSSIAN, '<meta charset="windows-1251">').encode("cp1251")
    assert RUSSIAN in decode_html(body, {"content-type": "text/html"})


def test_wrong_http_charset_loses_to_bytes_that_do_not_fit_it():
    body = page(RUSSIAN, '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">')
    text = decode_html(body.encode("cp1251"), {"content-type": "text/html; charset=utf-8"})
    assert RUSSIAN in text


def test_utf8_body_under_latin1_label_is_utf8():
    body = page(RUSSIAN + " café").encode("utf-8")
    assert detect_encoding(body, {"content-type": "text/html; charset=ISO-8859-1"}) == ("utf-8", "utf-8")
    assert "café" in decode_html(body, {"content-type": "text/html; charset=ISO-8859-1"})


def test_real_latin1_stays_latin1():
    body = page("Éditorial: l'armée à Alep").encode("latin-1")
    assert "Éditorial: l'armée à Alep" in decode_html(body, {"content-type": "text/html; charset=iso-8859-1"})


def test_windows_1252_quotes_under_latin1_label():
    body = page("\u201cquoted\u201d").encode("cp1252")
    assert "\u201cquoted\u201d" in decode_html(body, {"content-type": "text/html; charset=iso-8859-1"})


def test_undeclared_windows_1251_is_detected():
    body = page(RUSSIAN).encode("cp1251")
    codec, source = detect_encoding(body, {})
    assert source == "detected" and RUSSIAN in decode_html(body)


def test_undeclared_windows_1256_arabic_is_detected():
    body = page(ARABIC * 3).encode("cp1256")
    assert ARABIC in decode_html(body)


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-be"])
def test_bom_wins_over_declarations(codec):
    raw = page(RUSSIAN, '<meta charset="iso-8859-1">').encode(codec)
    if codec == "utf-16-be":
        raw = codecs.BOM_UTF16_BE + raw
    text = decode_html(raw, {"content-type": "text/html; charset=iso-8859-1"})
    assert RUSSIAN in text and not text.startswith("\ufeff")


def test_xml_declaration_is_read():
    body = f'<?xml version="1.0" encoding="windows-1251"?><rss><title>{RUSSIAN}</title></rss>'.encode(
        "cp1251"
    )
    assert detect_encoding(body, None)[1] == "document" and RUSSIAN in decode_html(body)


def test_unknown_label_is_ignored():
    body = page("plain ascii", '<meta charset="x-nonsense-42">').encode()
    assert decode_html(body, {"content-type": "text/html; charset=bogus"}).endswith("</html>")
    assert normalise_charset("bogus") is None and normalise_charset("latin1") == "cp1252"


def test_empty_body():
    assert decode_html(b"", {}) == ""


# Issue 19 item 4: the exact strings stored as "naďve … Genčve" and "Ŕ Genčve … crčme brűlée … Săo Paulo".
NAIVE = "naïve … Genève"
GENEVA = "À Genève … crème brûlée … São Paulo"


def french_page(text: str, meta: str = "") -> str:
    """A small French news page around `text`."""
    return page(
        f"<h1>Actualités</h1>{text}<p>Une autre phrase en français, avec quelques mots simples.</p>", meta
    )


@pytest.mark.parametrize("text", [NAIVE, GENEVA])
@pytest.mark.parametrize(
    "headers, meta",
    [
        ({"content-type": "text/html; charset=utf-8"}, ""),
        (None, ""),
        ({"content-type": "text/html"}, '<meta charset="utf-8">'),
    ],
    ids=["labelled-utf-8-in-header", "undeclared", "labelled-utf-8-in-meta"],
)
def test_windows_1252_bytes_decode_as_windows_1252(text, headers, meta):
    body = french_page(text, meta).encode("cp1252")
    assert text in decode_html(body, headers)
    assert detect_encoding(body, headers) == ("cp1252", "fallback")


def test_iso_8859_1_label_decodes_c1_bytes_as_windows_1252_like_browsers():
    body = page("“€uro” naïve").encode("cp1252") + b"<!-- \x81 \x8d -->"
    text = decode_html(body, {"content-type": "text/html; charset=iso-8859-1"})
    assert "“€uro” naïve" in text and text.endswith("<!-- \x81 \x8d -->")


def test_http_label_beats_meta_label():
    body = french_page(GENEVA, '<meta charset="windows-1251">').encode("cp1252")
    assert GENEVA in decode_html(body, {"content-type": "text/html; charset=iso-8859-1"})


def test_meta_label_is_used_when_http_label_does_not_fit():
    body = french_page(GENEVA, '<meta charset="iso-8859-1">').encode("cp1252")
    assert detect_encoding(body, {"content-type": "text/html; charset=utf-8"}) == ("cp1252", "document")


def test_utf8_bom_beats_windows_1252_header():
    body = codecs.BOM_UTF8 + french_page(NAIVE).encode("utf-8")
    text = decode_html(body, {"content-type": "text/html; charset=windows-1252"})
    assert NAIVE in text and not text.startswith("\ufeff")


def test_utf8_page_with_a_stray_byte_stays_utf8():
    body = french_page(NAIVE + " " + GENEVA).encode("utf-8").replace(b"</body>", b"\xa0</body>")
    text = decode_html(body, {"content-type": "text/html; charset=utf-8"})
    assert NAIVE in text and GENEVA in text and text.count("\ufffd") == 1


def test_shift_jis_label_accepts_windows_vendor_characters():
    text = "①東京都の人口は約千四百万人です。"
    assert text in decode_html(page(text).encode("cp932"), {"content-type": "text/html; charset=Shift_JIS"})


@pytest.mark.parametrize(
    "text, codec",
    [
        ("東京都は日本の首都であり、人口は約千四百万人です。", "shift_jis"),
        ("北京是中华人民共和国的首都，也是全国的政治中心。", "gbk"),
        ("서울은 대한민국의 수도이며 가장 큰 도시이다.", "euc-kr"),
        ("Zażółć gęślą jaźń, powiedział prezydent w Warszawie.", "cp1250"),
    ],
)
def test_undeclared_non_western_text_is_still_detected(text, codec):
    assert text in decode_html(page(text).encode(codec))


# Corpus pages whose language has a script of its own: decoded as saved (all UTF-8), each must show its title.
NON_WESTERN_PAGES = [
    "fundus/jp/AsahiShimbun_2025_01_13",
    "fundus/cn/People_2024_04_24",
    "fundus/kr/HankookIlbo_2025_05_15",
    "fundus/lb/LBCGroup_2026_01_08",
    "fundus/ru/Kommersant_2025_05_14",
    "fundus/tr/NTVTR_2024_04_30",
]
# Corpus pages re-encoded in the legacy charset of their language, charset declarations removed.
LEGACY_PAGES = [
    ("readability/folha", "cp1252"),
    ("readability/la-nacion", "cp1252"),
    ("trafilatura/bbc.com.52241221", "cp1252"),
    ("fundus/isl/Morgunbladid_2025_04_16", "cp1252"),
    ("fundus/ind/TimesOfIndia_2024_09_02", "cp1252"),
    ("fundus/ru/Kommersant_2025_05_14", "cp1251"),
    ("fundus/kr/HankookIlbo_2025_05_15", "cp949"),
    ("fundus/jp/AsahiShimbun_2025_01_13", "cp932"),
    ("fundus/cz/SeznamZpravy_2025_04_08", "cp1250"),
]


def read_page(corpus, name: str) -> bytes:
    """The raw bytes of a corpus page."""
    return gzip.decompress((corpus / "html" / f"{name}.html.gz").read_bytes())


def test_every_corpus_page_decodes_to_its_utf8_text(corpus):
    for line in (corpus / "pages.jsonl").read_text().splitlines():
        raw = gzip.decompress((corpus / json.loads(line)["page"]).read_bytes())
        assert decode_html(raw) == raw.decode("utf-8-sig"), line  # so no mojibake the page lacks


@pytest.mark.parametrize("name", NON_WESTERN_PAGES)
def test_non_western_corpus_page_shows_its_title(corpus, name):
    title = json.loads((corpus / "ground_truth" / f"{name}.json").read_text())["title"]
    assert title.split()[0] in decode_html(read_page(corpus, name))


@pytest.mark.parametrize("name, charset", LEGACY_PAGES)
@pytest.mark.parametrize(
    "headers", [None, {"content-type": "text/html; charset=utf-8"}], ids=["undeclared", "utf-8"]
)
def test_corpus_page_in_legacy_charset_decodes_exactly(corpus, name, charset, headers):
    text = re.sub(r"<meta[^>]*charset[^>]*>", "", read_page(corpus, name).decode("utf-8-sig"), flags=re.I)
    body = text.encode(charset, errors="xmlcharrefreplace")
    assert decode_html(body, headers) == body.decode(charset)
