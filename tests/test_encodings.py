"""decode_html: BOM, HTTP charset, <meta charset>, XML declaration and sniffing, without mojibake."""

from __future__ import annotations

import codecs

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
