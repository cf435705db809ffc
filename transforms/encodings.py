"""Text decoding of fetched documents in the WHATWG order: BOM, HTTP charset, <meta charset>, then detection.

Two pragmatic rules sit on top of the browser order. A declared charset is only believed if the bytes decode
cleanly under it, and non-ASCII bytes that are UTF-8 (but for a few stray bytes) are UTF-8 whatever a label
claims: legacy text is essentially never valid UTF-8 by accident. Labels map to the supersets browsers decode
them with (iso-8859-1 and ascii as windows-1252, iso-8859-9 as windows-1254); an East Asian label whose strict
codec fails is retried with its Windows superset (shift_jis as cp932, gb2312 as gb18030). When no label fits,
windows-1252 is the answer, as in a browser's Western locale, unless charset_normalizer is confident that the
bytes are another script (Cyrillic, Arabic, CJK ...) or rejects windows-1252 outright (e.g. Polish text).
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

SNIFF_BYTES = 4096
DETECT_BYTES = 200_000
WINDOWS_1252 = "cp1252"
# A body is UTF-8 with a few stray bytes when it has this many UTF-8 characters per invalid byte, or more.
MOSTLY_UTF8_RATIO = 10
# Largest charset_normalizer "chaos" (share of odd-looking characters) at which another guess is trusted.
MAX_GUESS_CHAOS = 0.1
_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:+-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:+-]+)", re.IGNORECASE)
_XML_DECLARATION = re.compile(rb"^<\?xml[^>]*encoding\s*=\s*[\"']([\w.:+-]+)[\"']", re.IGNORECASE)
_NON_ASCII_TEXT = re.compile(r"[^\x00-\x7f\ufffd]")
_NON_ASCII_BYTE = re.compile(rb"[\x80-\xff]")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Charset label -> the single-byte superset the WHATWG Encoding Standard decodes it with (by Python codec).
_BROWSER_SUPERSET = {
    codecs.lookup(label).name: superset
    for label, superset in {
        "iso-8859-1": WINDOWS_1252,
        "ascii": WINDOWS_1252,
        "iso-8859-9": "cp1254",
        "iso-8859-11": "cp874",
        "tis-620": "cp874",
    }.items()
}
# East Asian codecs whose Windows superset decodes what the label's strict codec refuses (vendor characters).
_WIDER_CODEC = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "big5": "big5hkscs",
}
# Windows-1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D unassigned; browsers decode them as the C1 controls.
_C1_ERRORS = "newsdesk-c1-controls"
codecs.register_error(_C1_ERRORS, lambda error: (chr(error.object[error.start]), error.start + 1))


def normalise_charset(label: str | None) -> str | None:
    """Python codec a browser would decode a charset label with, or None when unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in ("x-user-defined", "binary", "none", "unknown"):
        return None
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _BROWSER_SUPERSET.get(name, name)


def charset_from_headers(headers: dict[str, str] | None) -> str | None:
    """Charset parameter of the Content-Type header."""
    if not headers:
        return None
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    match = _CHARSET_PARAM.search(content_type or "")
    return match.group(1) if match else None


def charset_from_document(body: bytes) -> str | None:
    """Charset from an XML declaration or an HTML <meta> in the first bytes."""
    head = body[:SNIFF_BYTES]
    match = _XML_DECLARATION.search(head.lstrip()) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii", "ignore") if match else None


def _decodes(body: bytes, codec: str) -> bool:
    if codec == WINDOWS_1252:
        return True  # every byte has a meaning under the browsers' windows-1252
    try:
        body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def is_mostly_utf8(body: bytes) -> bool:
    """True when the non-ASCII bytes are UTF-8 but for a few stray bytes (never so in legacy text)."""
    if _decodes(body, "utf-8"):
        return True
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    return len(_NON_ASCII_TEXT.findall(text)) >= MOSTLY_UTF8_RATIO * bad


def is_non_latin_script(text: str) -> bool:
    """True when most non-ASCII letters of `text` are outside the Latin script (Cyrillic, Arabic, CJK ...)."""
    letters = [char for char in text if not char.isascii() and char.isalpha()]
    latin = sum(unicodedata.name(char, "").startswith("LATIN") for char in letters)
    return bool(letters) and latin * 2 < len(letters)


def _rank(match) -> tuple[float, float, bool, bool]:  # a charset_normalizer CharsetMatch; lower is likelier
    # On short texts several code pages tie: prefer windows-1252, then one that reads as a known language.
    is_other = normalise_charset(match.encoding) != WINDOWS_1252
    return round(match.chaos, 3), -round(match.coherence, 3), is_other, match.language == "Unknown"


def guess_encoding(body: bytes) -> tuple[str, str]:
    """(codec, how) for legacy bytes with no usable label: a trusted detector guess, else windows-1252."""
    # Keep the first non-ASCII bytes in the sample: after a long ASCII head every code page looks the same.
    start = max(0, _NON_ASCII_BYTE.search(body).start() - DETECT_BYTES // 2)
    sample = body[start : start + DETECT_BYTES]
    matches = [m for m in from_bytes(sample) if normalise_charset(m.encoding)]
    if not matches:
        return WINDOWS_1252, "fallback"
    best = min(matches, key=_rank)
    codec = normalise_charset(best.encoding)
    if codec in (WINDOWS_1252, "utf-8") or best.chaos > MAX_GUESS_CHAOS:
        return WINDOWS_1252, "fallback"
    # Another Latin code page (windows-1250, -1254 ...) only wins when windows-1252 reads as nonsense.
    windows_1252_fits = any(
        normalise_charset(name) == WINDOWS_1252 for m in matches for name in m.could_be_from_charset
    )
    if is_non_latin_script(str(best)) or not windows_1252_fits:
        return codec, "detected"
    return WINDOWS_1252, "fallback"


def detect_encoding(body: bytes, headers: dict[str, str] | None = None) -> tuple[str, str]:
    """(codec, how it was chosen) for a document: bom, utf-8, http, document, detected or fallback."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec, "bom"
    if body.isascii():
        return "utf-8", "utf-8"
    if is_mostly_utf8(body):
        return "utf-8", "utf-8"
    for source, label in (("http", charset_from_headers(headers)), ("document", charset_from_document(body))):
        codec = normalise_charset(label)
        if not codec or codec.startswith(("utf-16", "utf-32")):
            continue
        for candidate in (codec, _WIDER_CODEC.get(codec)):
            if candidate and _decodes(body, candidate):
                return candidate, source
    return guess_encoding(body)


def decode_html(body: bytes, headers: dict[str, str] | None = None) -> str:
    """Decode an HTML (or XML) document to text without mojibake; undecodable bytes become U+FFFD."""
    if not body:
        return ""
    codec, source = detect_encoding(body, headers)
    if source == "bom":
        body = body[len(next(bom for bom, name in _BOMS if name == codec)) :]
    return body.decode(codec, errors=_C1_ERRORS if codec == WINDOWS_1252 else "replace")
