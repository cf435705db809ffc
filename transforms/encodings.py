"""Text decoding of fetched documents: BOM, HTTP charset, <meta charset>, XML declaration, then sniffing.

The order follows the HTML standard's spirit with one pragmatic rule on top: a declared charset is only
believed if the bytes decode cleanly under it, and non-ASCII bytes that form valid UTF-8 are UTF-8 whatever a
single-byte label claims (real windows-1251 or Latin-1 text is essentially never valid UTF-8 by accident).
"""

from __future__ import annotations

import codecs
import re

try:
    from charset_normalizer import from_bytes as _detect
except ImportError:  # installed with trafilatura; without it we fall back to windows-1252
    _detect = None

SNIFF_BYTES = 4096
_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:+-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:+-]+)", re.IGNORECASE)
_XML_DECLARATION = re.compile(rb"^<\?xml[^>]*encoding\s*=\s*[\"']([\w.:+-]+)[\"']", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Labels that browsers treat as windows-1252 (a superset that decodes 0x80-0x9F as printable characters).
_AS_WINDOWS_1252 = {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1", "us-ascii", "ascii", "cp819"}


def normalise_charset(label: str | None) -> str | None:
    """Python codec name for a charset label, or None when unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _AS_WINDOWS_1252:
        return "cp1252"
    if label in ("x-user-defined", "binary", "none", "unknown"):
        return None
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


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
    try:
        body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def detect_encoding(body: bytes, headers: dict[str, str] | None = None) -> tuple[str, str]:
    """(codec, how it was chosen) for a document: bom, utf-8, http, document, detected or fallback."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec, "bom"
    is_ascii = body.isascii()
    valid_utf8 = _decodes(body, "utf-8")
    if valid_utf8 and not is_ascii:
        declared = normalise_charset(charset_from_headers(headers) or charset_from_document(body))
        if declared is None or not declared.startswith(("utf-16", "utf-32")):
            return "utf-8", "utf-8"
    for source, label in (("http", charset_from_headers(headers)), ("document", charset_from_document(body))):
        codec = normalise_charset(label)
        if codec and not codec.startswith(("utf-16", "utf-32")) and _decodes(body, codec):
            return codec, source
    if valid_utf8:
        return "utf-8", "utf-8"
    if _detect is not None:
        matches = [m for m in _detect(body[:200_000]) if normalise_charset(m.encoding)]
        # On short texts several code pages tie on chaos; prefer one whose text reads as a known language.
        matches.sort(key=lambda m: (round(m.chaos, 3), -round(m.coherence, 3), m.language == "Unknown"))
        if matches:
            return normalise_charset(matches[0].encoding), "detected"
    return "cp1252", "fallback"


def decode_html(body: bytes, headers: dict[str, str] | None = None) -> str:
    """Decode an HTML (or XML) document to text without mojibake; undecodable bytes become U+FFFD."""
    if not body:
        return ""
    codec, source = detect_encoding(body, headers)
    if source == "bom":
        body = body[len(next(bom for bom, name in _BOMS if name == codec)) :]
    return body.decode(codec, errors="replace")
