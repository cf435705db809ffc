"""Main-text and metadata extraction from article HTML: trafilatura (fast mode, its full mode when readability
disagrees), a second opinion when its text looks suspect (transforms/extraction_cascade.py), the page's date
candidates and declared language."""

from __future__ import annotations

import re
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import justext.core
import trafilatura
import trafilatura.external
from dateparser import DateDataParser
from extruct.jsonld import JsonLdExtractor
from lxml.html import HtmlElement
from trafilatura.settings import Extractor
from trafilatura.utils import decode_file, load_html

from transforms.dates import DateCandidate, choose_dates, find_page_dates, walk_jsonld
from transforms.extraction_cascade import needs_full_mode, read_link_texts, read_readability, run_cascade
from transforms.language import get_identifier, normalise_code
from transforms.site_lines import fingerprint_short_lines

HTML_LANG = re.compile(r"<html[^>]*?\slang\s*=\s*[\"']?([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)?", re.IGNORECASE)
JSONLD = JsonLdExtractor()

EXTRACTOR_VERSION = f"trafilatura-{trafilatura.__version__}+6"

# trafilatura's options. Its fast mode skips its own readability and jusText fallbacks: readability runs
# once, in the cascade, and the full mode re-runs (FULL_MODE_OPTIONS, metadata read) only where it disagrees.
EXTRACT_OPTIONS = Extractor(
    output_format="python",
    fast=True,
    comments=False,
    tables=True,
    with_metadata=True,
    dedup=False,
    date_params={"original_date": True, "extensive_search": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"},
)
FULL_MODE_OPTIONS = Extractor(output_format="python", fast=False, comments=False, tables=True, dedup=False)


@dataclass(slots=True)
class ExtractedPage:
    """What extraction found in one HTML page."""

    text: str
    title: str | None = None
    byline: str | None = None
    published_at: datetime | None = None  # the page's own best date (the rule without feed or crawl time)
    language: str | None = None  # as the markup declares it (the text's language is chosen later)
    sitename: str | None = None
    page_canonical: str | None = None
    categories: list[str] = field(default_factory=list)
    extractor: str = "trafilatura"  # whose text was kept (transforms/extraction_cascade.py)
    date_candidates: list[DateCandidate] = field(default_factory=list)  # every date the page offers
    # trafilatura's short lines before any was dropped: what the page adds to its site's line counts
    site_lines: frozenset[int] = frozenset()


def read_html_language(html: str) -> str | None:
    """Read the primary language subtag of the page's <html lang> attribute."""
    match = HTML_LANG.search(html, 0, 4096)
    return match.group(1).lower() if match else None


def read_jsonld(tree: HtmlElement) -> list[Any]:
    """The page's JSON-LD items (extruct); [] when it has none or they cannot be read."""
    try:
        return JSONLD.extract_items(tree)
    except (ValueError, TypeError):
        return []


def read_jsonld_body(items: list[Any]) -> str | None:
    """The first non-empty JSON-LD articleBody."""
    for item in walk_jsonld(items):
        body = item.get("articleBody")
        if isinstance(body, str) and body.strip():
            return body.strip()
    return None


def run_trafilatura(tree: HtmlElement, options: Extractor, url: str | None) -> Any:
    """trafilatura's document for the page (it works on a copy of the tree); None when it finds no body."""
    options = copy(options)
    options.url = url
    options.source = url
    try:
        return trafilatura.bare_extraction(tree, options=options)
    except ValueError:
        return None


def extract_page(
    html: str | bytes, url: str | None = None, boilerplate: frozenset[int] = frozenset()
) -> ExtractedPage | None:
    """Extract the article body (trafilatura, its full mode where readability disagrees, a second opinion when
    suspect, the site's boilerplate lines — fingerprints in `boilerplate`, transforms/site_lines.py — dropped)
    and metadata; None when no body is found."""
    if isinstance(html, bytes):
        html = decode_file(html)
    tree = load_html(html)
    if tree is None:
        return None
    jsonld = read_jsonld(tree)
    document = run_trafilatura(tree, EXTRACT_OPTIONS, url)
    if document is None:
        return None
    # Everything read from the tree is read before readability, which prunes it.
    candidates = find_page_dates(tree, jsonld, url, document.date)
    language = normalise_code(tree.get("lang")) or normalise_code(document.language)
    link_texts = read_link_texts(tree)
    jsonld_body = read_jsonld_body(jsonld)
    text, base = document.text or "", "trafilatura"
    opinion = read_readability(tree)
    if needs_full_mode(text, opinion, jsonld_body, link_texts):
        full = run_trafilatura(load_html(html), FULL_MODE_OPTIONS, url)
        text, base = (full.text or "", "trafilatura-full") if full is not None else (text, base)
    result = run_cascade(text, opinion, jsonld_body, link_texts, boilerplate, base)
    if not result.text.strip():
        return None
    categories = [c.strip() for c in (document.categories or []) if c and c.strip()]
    return ExtractedPage(
        text=result.text,
        title=document.title or None,
        byline=document.author or None,
        published_at=choose_dates(candidates, None).published_at,
        language=language,
        sitename=document.sitename or None,
        page_canonical=document.url or None,
        categories=categories,
        extractor=result.extractor,
        date_candidates=candidates,
        site_lines=frozenset(fingerprint_short_lines(text)),
    )


WARM_UP_PAGE = (
    "<html lang='en'><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
    + "<p>A paragraph long enough to be kept as the body of this page, written on 3 May 2016.</p>" * 4
    + "</article></body></html>"
)


def warm_extractor() -> None:
    """Build now the tables trafilatura's helpers make on first use (jusText's stoplists of all languages,
    ~150k words; dateparser's ~200 locales; the TLD list) and the language model: a process forked after this
    shares those pages instead of building its own copy. Output is unchanged: they are caches."""
    stoplist = trafilatura.external.JT_STOPLIST or trafilatura.external.jt_stoplist_init()
    justext.core.define_stoplist(stoplist)  # lru-cached under the same tuple that trafilatura passes
    # htmldate's text-date search asks dateparser in no set language: its first ask loads and tries every
    # locale. A date no locale reads does the same here, once for all workers.
    DateDataParser(settings={"STRICT_PARSING": True}).get_date_data("qqzx 12 2016")
    get_identifier()  # the language model
    extract_page(WARM_UP_PAGE, "https://warm-up.example.org/2016/05/03/page.html")
