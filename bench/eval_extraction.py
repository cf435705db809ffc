"""Main-text extraction quality and speed: trafilatura alone against newsdesk's cascade, on real pages.

Run: .venv/bin/python bench/eval_extraction.py [--limit N] [--speed-pages 120] [--verbose]
Material: the ../shared/corpus pages whose ground truth is a full article body (aeb `articleBody`, checked by
hand; fundus `articleBody`, the publisher parser's summary, headings and paragraphs). trafilatura's snippets and
readability's reference HTML are not full texts and are left out.
Score per page: word tokens (lower-cased \\w+) of the cleaned extraction against those of the ground truth,
as multisets: precision = shared / extracted, recall = shared / truth, F1 of the two; an empty extraction
scores 0. Precision, recall and F1 are macro means over pages (as article-extraction-benchmark reports them).
Both extractors see the same decoded HTML and the same cleaning (transforms/clean.py); "trafilatura" is
trafilatura.bare_extraction with newsdesk's options (comments off) in its default full mode, "cascade" is transforms.extract.extract_page.
Site lines (transforms/site_lines.py) are learnt as an ingest learns them: a first pass extracts every page
without them and takes the short lines of each cleaned text, by site (the page URL's host); each page is then
scored with the lines seen on at least MIN_SITE_PAGES *other* pages of its site (a page's own lines are stored
only after it is built). The corpus has at most 4 pages of one site, so at MIN_SITE_PAGES = 5 none qualifies
there: the figures measure the rule's cost, not its gain (tests/test_site_lines.py shows the gain).
Speed is CPU seconds of this process on one core over the first --speed-pages pages, taken in alternation so
that a busy machine slows both alike. Last line:
`extraction: precision=P recall=R f1=F pages_per_s_core=N`.
Skips (and says so) when ../shared/corpus is absent.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter, defaultdict
from copy import copy
from pathlib import Path
from statistics import mean

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trafilatura  # noqa: E402

from transforms.clean import clean_text  # noqa: E402
from transforms.encodings import decode_html  # noqa: E402
from transforms.extract import EXTRACT_OPTIONS, extract_page, warm_extractor  # noqa: E402
from transforms.outlets import outlet_of  # noqa: E402
from transforms.site_lines import MIN_SITE_PAGES, fingerprint_short_lines  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
FULL_TEXT_SOURCES = ("aeb", "fundus")
TOKEN = re.compile(r"\w+")


def load_pages(limit: int | None) -> list[dict]:
    """The corpus pages with a full-text ground truth: url, decoded html, truth text."""
    pages = []
    with (CORPUS / "pages.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["source"] not in FULL_TEXT_SOURCES:
                continue
            truth = json.loads((CORPUS / row["ground_truth"]).read_text(encoding="utf-8"))["articleBody"]
            html = decode_html(gzip.decompress((CORPUS / row["page"]).read_bytes()), None)
            pages.append({"page": row["page"], "url": row["url"], "html": html, "truth": truth})
    return pages[:limit] if limit else pages


def learn_site_lines(pages: list[dict]) -> int:
    """Give each page the boilerplate lines of its site, learnt over the other pages; return how many pages got
    any."""
    lines = [fingerprint_short_lines(extract_cascade(page["html"], page["url"])) for page in pages]
    seen: dict[str, Counter] = defaultdict(Counter)  # site → line → pages
    for page, page_lines in zip(pages, lines, strict=True):
        seen[outlet_of(page["url"] or "")].update(page_lines)
    for page, page_lines in zip(pages, lines, strict=True):
        counts = seen[outlet_of(page["url"] or "")]
        page["boilerplate"] = frozenset(
            line for line, count in counts.items() if count - (line in page_lines) >= MIN_SITE_PAGES
        )
    return sum(1 for page in pages if page["boilerplate"])


def extract_trafilatura(html: str, url: str | None, boilerplate: frozenset[int] = frozenset()) -> str:
    """trafilatura alone, as newsdesk ran it before the cascade (`boilerplate` unused: the cascade's signature)."""
    options = copy(EXTRACT_OPTIONS)
    options.url = url
    options.fast = False  # trafilatura's default, full mode
    try:
        document = trafilatura.bare_extraction(html, options=options)
    except ValueError:
        return ""
    return clean_text(document.text or "", document.title) if document else ""


def extract_cascade(html: str, url: str | None, boilerplate: frozenset[int] = frozenset()) -> str:
    """newsdesk's extraction: trafilatura, a second opinion when suspect, the site's boilerplate lines dropped."""
    page = extract_page(html, url, boilerplate)
    return clean_text(page.text, page.title) if page else ""


def score(extracted: str, truth: str) -> tuple[float, float, float]:
    """Token-multiset precision, recall and F1 of one extraction."""
    found, wanted = Counter(TOKEN.findall(extracted.lower())), Counter(TOKEN.findall(truth.lower()))
    shared = sum((found & wanted).values())
    if not shared:
        return 0.0, 0.0, 0.0
    precision, recall = shared / sum(found.values()), shared / sum(wanted.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


def evaluate(pages: list[dict], extractor, verbose: bool) -> tuple[float, float, float]:
    """Macro precision, recall and F1 of an extractor over the pages."""
    scores = []
    for page in pages:
        scores.append(score(extractor(page["html"], page["url"], page["boilerplate"]), page["truth"]))
        if verbose and scores[-1][2] < 0.8:
            print(f"  {page['page']}: P={scores[-1][0]:.2f} R={scores[-1][1]:.2f}")
    return tuple(round(mean(values), 4) for values in zip(*scores, strict=True))


def measure_speed(pages: list[dict], rounds: int = 2) -> dict[str, float]:
    """Pages per CPU second of each extractor, alternating extractors page by page."""
    spent = {"trafilatura": 0.0, "cascade": 0.0}
    for _ in range(rounds):
        for page in pages:
            for name, extractor in (("trafilatura", extract_trafilatura), ("cascade", extract_cascade)):
                started = time.process_time()
                extractor(page["html"], page["url"], page["boilerplate"])
                spent[name] += time.process_time() - started
    return {name: rounds * len(pages) / seconds for name, seconds in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="score only the first N pages")
    parser.add_argument("--speed-pages", type=int, default=120, help="pages timed for pages/s")
    parser.add_argument("--verbose", action="store_true", help="list pages scoring F1 < 0.8")
    args = parser.parse_args()
    if not (CORPUS / "pages.jsonl").exists():
        print("shared corpus not found: nothing to evaluate")
        return
    warm_extractor()
    pages = load_pages(args.limit)
    print(f"{len(pages)} pages with full-text ground truth ({', '.join(FULL_TEXT_SOURCES)})")
    with_lines = learn_site_lines(pages)
    print(f"site lines: {with_lines} pages have lines seen on >= {MIN_SITE_PAGES} other pages of their site")
    print(f"{'extractor':<12} {'precision':>10} {'recall':>8} {'f1':>7}")
    before = evaluate(pages, extract_trafilatura, args.verbose)
    print(f"{'trafilatura':<12} {before[0]:>10.4f} {before[1]:>8.4f} {before[2]:>7.4f}")
    after = evaluate(pages, extract_cascade, args.verbose)
    print(f"{'cascade':<12} {after[0]:>10.4f} {after[1]:>8.4f} {after[2]:>7.4f}")
    speed = measure_speed(pages[: args.speed_pages])
    print(
        f"pages/s on one core (CPU time, {min(len(pages), args.speed_pages)} pages x 2): "
        f"trafilatura {speed['trafilatura']:.1f}, cascade {speed['cascade']:.1f} "
        f"(ratio {speed['cascade'] / speed['trafilatura']:.2f})"
    )
    print(
        f"extraction: precision={after[0]:.4f} recall={after[1]:.4f} f1={after[2]:.4f} "
        f"pages_per_s_core={speed['cascade']:.1f}"
    )


if __name__ == "__main__":
    main()
