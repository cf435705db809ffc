"""A second opinion on trafilatura's body text, and the rules that keep the better text (docs/extraction.md):
trafilatura's full mode when its fast text and readability's disagree on length; then the site's known
boilerplate lines are dropped, and short paragraphs that readability does not confirm, when it agrees on the
main block."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from lxml.html import HtmlElement
from trafilatura.external import try_readability

from transforms.clean import normalise_unicode

# A paragraph shorter than this is "short": teasers, link lines, bylines and captions are; body text rarely.
SHORT_PARAGRAPH_WORDS = 25
# Suspect when short paragraphs hold more than this share of the words.
SUSPECT_SHORT_SHARE = 0.05
# Too little text to trust: the second opinion replaces it when it has more.
MIN_TRUSTED_WORDS = 20
# Suspect when paragraphs that are the text of a link on the page hold more than this share of the words:
# link lists, "read more" lines and related-story teasers that trafilatura kept.
MAX_LINK_SHARE = 0.1
# The filtered text is kept only if it keeps at least this share of trafilatura's words: a second opinion
# that misses most of the page (a wrong main block) must not cut the body.
MIN_KEPT_SHARE = 0.7
# The second opinion judges short paragraphs only when it holds at least this share of the words of
# trafilatura's long paragraphs: the two then found the same main block, and what readability leaves out of
# it is boilerplate; when it found another block, its silence on a short paragraph says nothing.
MIN_AGREEMENT = 0.8
# trafilatura's fast mode skips its own readability and jusText fallbacks; its full mode re-runs when the fast
# text looks like a wrong main block: readability found over FULL_MODE_LONGER times its words, or the page's
# JSON-LD articleBody holds over FULL_MODE_JSONLD times them, or readability found under 1 / FULL_MODE_SHORTER
# of them while the fast text is itself in doubt (under SHORT_BODY_WORDS words, or rich in link text): a long
# fast text that readability misses is nearly always readability's miss (the full mode then agrees with it).
FULL_MODE_LONGER = 2.0
FULL_MODE_SHORTER = 3.0
FULL_MODE_JSONLD = 1.2
SHORT_BODY_WORDS = 150
TOKEN = re.compile(r"\w+")
# Chinese and Japanese are written without spaces: two of these characters count as a word.
UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td")


@dataclass(slots=True, frozen=True)
class CascadeResult:
    """The body text kept and the extractor that produced it."""

    text: str
    # trafilatura, or trafilatura-full (its full mode re-ran), alone, +readability (filtered) or +site_lines;
    # readability | jsonld (trafilatura found too little)
    extractor: str


def split_paragraphs(text: str) -> list[str]:
    """The non-empty lines of an extraction."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def count_words(text: str) -> int:
    """Whitespace-separated words, and one word per two Chinese or Japanese characters."""
    return len(text.split()) + len(UNSPACED.findall(text)) // 2


def short_share(text: str) -> float:
    """The share of the text's words that stand in paragraphs under SHORT_PARAGRAPH_WORDS words."""
    sizes = [count_words(p) for p in split_paragraphs(text)]
    total = sum(sizes)
    return sum(size for size in sizes if size < SHORT_PARAGRAPH_WORDS) / total if total else 0.0


def read_link_texts(tree: HtmlElement) -> frozenset[str]:
    """The normalised text of every link on the page (read before trafilatura prunes the tree)."""
    texts = (normalise_tokens(anchor.text_content()) for anchor in tree.iter("a"))
    return frozenset(text for text in texts if text)


def link_share(text: str, link_texts: frozenset[str]) -> float:
    """The share of the text's words that stand in paragraphs which are, word for word, a link's text."""
    sizes = [(count_words(p), normalise_tokens(p) in link_texts) for p in split_paragraphs(text)]
    total = sum(size for size, _ in sizes)
    return sum(size for size, linked in sizes if linked) / total if total else 0.0


def is_suspect(text: str, jsonld_body: str | None, link_texts: frozenset[str] = frozenset()) -> bool:
    """Whether trafilatura's text needs a second opinion: too short, rich in short paragraphs or in link
    text, or shorter than the page's own JSON-LD articleBody."""
    words = count_words(text)
    if words < MIN_TRUSTED_WORDS or short_share(text) > SUSPECT_SHORT_SHARE:
        return True
    if link_texts and link_share(text, link_texts) > MAX_LINK_SHARE:
        return True
    return jsonld_body is not None and count_words(jsonld_body) > words


def normalise_tokens(text: str) -> str:
    """Lower-case word tokens joined by single spaces: paragraph matching ignores markup and punctuation."""
    return " ".join(TOKEN.findall(text.lower()))


def fingerprint_line(line: str) -> int | None:
    """A signed 64-bit fingerprint of a line's word tokens (case, markup, punctuation and spacing ignored);
    None for a line without words."""
    tokens = normalise_tokens(normalise_unicode(line))
    if not tokens:
        return None
    return int.from_bytes(hashlib.blake2b(tokens.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def drop_site_lines(text: str, boilerplate: frozenset[int]) -> tuple[str, int]:
    """The text without the short paragraphs that are the site's boilerplate lines; how many were dropped."""
    if not boilerplate:
        return text, 0
    paragraphs = split_paragraphs(text)
    kept = [
        paragraph for paragraph in paragraphs
        if count_words(paragraph) >= SHORT_PARAGRAPH_WORDS or fingerprint_line(paragraph) not in boilerplate
    ]
    return "\n".join(kept), len(paragraphs) - len(kept)


def needs_full_mode(
    text: str, opinion: str, jsonld_body: str | None, link_texts: frozenset[str] = frozenset()
) -> bool:
    """Whether trafilatura's fast text and readability's `opinion` (or the JSON-LD body) disagree on length
    enough that trafilatura's full mode must re-run; `link_texts`: the page's link texts (read_link_texts)."""
    words, opinion_words = count_words(text), count_words(opinion)
    if opinion_words > FULL_MODE_LONGER * words:
        return True
    if jsonld_body is not None and count_words(jsonld_body) > FULL_MODE_JSONLD * words:
        return True
    in_doubt = words < SHORT_BODY_WORDS or link_share(text, link_texts) > MAX_LINK_SHARE
    return in_doubt and words > FULL_MODE_SHORTER * opinion_words


def read_readability(tree: HtmlElement) -> str:
    """The main text by trafilatura's port of readability-lxml, one block per line; "" when it finds none.
    It prunes the tree it is given: the caller passes a tree it no longer needs."""
    root = try_readability(tree)
    blocks = [" ".join(element.text_content().split()) for element in root.iter(*BLOCK_TAGS)]
    lines = [block for block in blocks if block]
    return "\n".join(lines) if lines else " ".join(root.text_content().split())


def measure_agreement(text: str, haystack: str) -> float:
    """The share of the words of the text's long paragraphs that occur, in order, in the normalised opinion
    `haystack` (1.0 when it has no long paragraph)."""
    sizes = [(count_words(p), normalise_tokens(p) in haystack) for p in split_paragraphs(text)]
    long_words = sum(size for size, _ in sizes if size >= SHORT_PARAGRAPH_WORDS)
    confirmed = sum(size for size, found in sizes if size >= SHORT_PARAGRAPH_WORDS and found)
    return confirmed / long_words if long_words else 1.0


def filter_by_opinion(text: str, opinion: str, haystack: str | None = None) -> str:
    """Drop the short paragraphs of `text` whose words do not occur, in order, in `opinion` (`haystack`: the
    opinion already normalised)."""
    haystack = normalise_tokens(opinion) if haystack is None else haystack
    kept = [
        paragraph for paragraph in split_paragraphs(text)
        if count_words(paragraph) >= SHORT_PARAGRAPH_WORDS or normalise_tokens(paragraph) in haystack
    ]
    return "\n".join(kept)


def choose_text(text: str, opinion: str, jsonld_body: str | None, base: str = "trafilatura") -> CascadeResult:
    """Keep the better of trafilatura's text (`base` names its mode) and the second opinion, by the documented
    rule."""
    words = count_words(text)
    if words < MIN_TRUSTED_WORDS:
        best = max(((opinion, "readability"), (jsonld_body or "", "jsonld")), key=lambda o: count_words(o[0]))
        if count_words(best[0]) > words:
            return CascadeResult(best[0], best[1])
        return CascadeResult(text, base)
    haystack = normalise_tokens(opinion)
    if not haystack or measure_agreement(text, haystack) < MIN_AGREEMENT:
        return CascadeResult(text, base)
    filtered = filter_by_opinion(text, opinion, haystack)
    if filtered != text and count_words(filtered) >= MIN_KEPT_SHARE * words:
        return CascadeResult(filtered, f"{base}+readability")
    return CascadeResult(text, base)


def run_cascade(
    text: str,
    opinion: str,
    jsonld_body: str | None,
    link_texts: frozenset[str] = frozenset(),
    boilerplate: frozenset[int] = frozenset(),
    base: str = "trafilatura",
) -> CascadeResult:
    """trafilatura's text (`base` names its mode) without the site's boilerplate lines (fingerprints in
    `boilerplate`), or, when it is suspect, the better of that and readability's `opinion`; `link_texts`: the
    page's link texts (read_link_texts)."""
    kept, dropped = drop_site_lines(text, boilerplate)
    if not dropped and not is_suspect(text, jsonld_body, link_texts):
        return CascadeResult(text, base)
    result = choose_text(kept, opinion, jsonld_body, base)
    if dropped and result.extractor == base:
        return CascadeResult(result.text, f"{base}+site_lines")
    return result
