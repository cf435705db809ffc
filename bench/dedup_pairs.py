"""Labelled near-duplicate material for bench/eval_dedup.py: real article bodies and syndicated variants.

Base texts are the full ground-truth bodies of ../shared/corpus (aeb, fundus), the FA-KES Syria-war texts and
the pages of the bundled seed site (seeds/site, extracted with transforms.extract; seeds/cases.json labels its
syndicated set and its exact copy).
Each base text gets synthetic syndicated copies (other page chrome, a rewritten headline, a wire dateline, the
last paragraph cut, ~5 % of words edited, and all of these at once). A document's family is its base text;
two documents are duplicates when they share a family. FA-KES also holds real duplicates (the same wire story
republished by two outlets); the pairs among its texts with a word-5-shingle Jaccard above 0.1 were read by
hand and are labelled below, so that same-topic reports stay negatives and real copies become positives.
"""

from __future__ import annotations

import csv
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from transforms.hashing import hash_content

REPO_DIR = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_DIR.parent / "shared" / "corpus"
SEEDS_DIR = REPO_DIR / "seeds"
MIN_WORDS = 50  # shorter bodies (captions, teasers) say little about article dedup
EDIT_SHARE = 0.05
VARIANT_KINDS = ("chrome", "headline", "dateline", "truncate", "edit5", "combined")

# FA-KES rows (0-based data-row index) that are the same article: near-identical texts from one outlet, the
# same AFP wire republished by two outlets, one text extended by a later update.
FAKES_DUPLICATES = (
    (142, 143), (144, 148), (170, 184), (23, 185), (49, 123), (85, 145), (109, 149), (26, 157),
)
# FA-KES rows that report one event from one wire story but were rewritten or updated (new toll, new lede,
# terms swapped): related, not copies. Excluded from precision and recall, reported on their own.
FAKES_AMBIGUOUS = ((1, 64), (84, 146), (65, 271), (286, 370), (290, 372), (121, 188))
# fundus' de/Taz page was crawled twice (2023-04-28 and 2024-10-23): the same article.
FUNDUS_DUPLICATES = (("de/Taz_2023_04_28", "de/Taz_2024_10_23"),)

CHROME_HEAD = (
    "Home | World | Middle East | Politics | Business | Opinion | Video",
    "Share this article on Facebook Twitter WhatsApp Email",
    "Advertisement",
    "Listen to this article 4 min",
    "Subscribe to our newsletter for the day's top stories",
)
CHROME_TAIL = (
    "Read more: Ceasefire talks resume as aid convoys wait at the border",
    "Related: What we know about the latest strikes",
    "Sign up for breaking news alerts",
    "Copyright 2016 Levant Dispatch. All rights reserved.",
    "Follow us on social media for live updates",
    "Most read: Markets slide as oil prices climb",
    "Comments are closed for this article",
)
DATELINE_PLACES = ("BEIRUT", "DAMASCUS", "ALEPPO, Syria", "AMMAN, Jordan", "ISTANBUL", "GENEVA", "MOSCOW")
DATELINE_AGENCIES = ("AP", "Reuters", "AFP", "dpa", "Xinhua")
HEADLINE_PREFIXES = ("UPDATE 2-", "LIVE:", "Breaking:", "WATCH:", "")
FILLER_WORDS = (
    "reportedly", "officials", "said", "local", "sources", "again", "new", "later", "still", "also", "city",
    "forces", "area", "report", "people", "government", "early", "statement", "according", "monday",
)
SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class Doc:
    """One document of the evaluation pool."""

    doc_id: str
    family: str  # documents of one family are duplicates of each other
    kind: str  # "original" or one of VARIANT_KINDS
    origin: str  # aeb, fundus, fakes or seed
    text: str
    topic: str = ""  # FA-KES location, for same-topic negatives


@dataclass(frozen=True, slots=True)
class Base:
    """A base text before its variants are made."""

    base_id: str
    origin: str
    title: str
    text: str
    topic: str = ""


def load_bases(corpus_dir: Path = CORPUS_DIR) -> list[Base]:
    """Base texts from the shared corpus, in a fixed order; [] when the corpus is absent."""
    bases: list[Base] = []
    for path in sorted((corpus_dir / "ground_truth" / "aeb").glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        bases.append(Base(f"aeb/{path.stem[:12]}", "aeb", "", record.get("articleBody") or ""))
    for path in sorted((corpus_dir / "ground_truth" / "fundus").glob("*/*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        base_id = f"{path.parent.name}/{path.stem}"
        bases.append(Base(base_id, "fundus", record.get("title") or "", record.get("articleBody") or ""))
    fakes_path = corpus_dir / "articles" / "fa-kes" / "fakes.csv"
    if fakes_path.exists():
        with fakes_path.open(encoding="latin-1", newline="") as handle:
            for index, row in enumerate(csv.DictReader(handle)):
                bases.append(Base(f"fakes/{index}", "fakes", row["article_title"], row["article_content"],
                                  row["location"].strip().lower()))
    if bases:
        bases += load_seed_bases()
    return [base for base in bases if len(base.text.split()) >= MIN_WORDS]


def seed_url_of(path: Path, site_dir: Path) -> str:
    """The URL a file of the seed site is served at."""
    return "https://" + path.relative_to(site_dir).as_posix()


def load_seed_bases(seeds_dir: Path = SEEDS_DIR) -> list[Base]:
    """Article texts of the bundled seed site, extracted as the pipeline does (trafilatura)."""
    from transforms.extract import extract_page

    site_dir = seeds_dir / "site"
    bases: list[Base] = []
    for path in sorted(site_dir.glob("**/*.html")):
        url = seed_url_of(path, site_dir)
        page = extract_page(path.read_bytes(), url)
        if page is not None and page.text:
            # All seed pages are one topic group: most report the Syrian war from four outlets.
            bases.append(Base(f"seed/{url}", "seed", page.title or "", page.text, "seed-site"))
    return bases


def seed_duplicate_links(seeds_dir: Path = SEEDS_DIR) -> list[tuple[str, str]]:
    """Base-id pairs the seed cases label as copies: the syndicated set and the exact copy."""
    cases_path = seeds_dir / "cases.json"
    if not cases_path.exists():
        return []
    cases = json.loads(cases_path.read_text(encoding="utf-8"))
    links: list[tuple[str, str]] = []
    for group in (cases.get("syndicated") or [], cases.get("exact_copy") or []):
        links += [(f"seed/{group[0]}", f"seed/{url}") for url in group[1:]]
    return links


def family_of_bases(bases: list[Base]) -> dict[str, str]:
    """Family id per base: identical texts and the hand-labelled duplicates share one (the smallest id)."""
    family = {base.base_id: base.base_id for base in bases}
    by_hash: dict[str, str] = {}
    links: list[tuple[str, str]] = []
    for base in bases:
        first = by_hash.setdefault(hash_content(base.text), base.base_id)
        if first != base.base_id:
            links.append((first, base.base_id))
    links += [(f"fakes/{a}", f"fakes/{b}") for a, b in FAKES_DUPLICATES]
    links += list(FUNDUS_DUPLICATES)
    links += seed_duplicate_links()
    for a, b in links:
        if a in family and b in family:
            root_a, root_b = _root(family, a), _root(family, b)
            low, high = sorted((root_a, root_b))
            family[high] = low
    return {base_id: _root(family, base_id) for base_id in family}


def _root(family: dict[str, str], base_id: str) -> str:
    """Representative of a base's family."""
    while family[base_id] != base_id:
        base_id = family[base_id]
    return base_id


def ambiguous_pairs() -> set[frozenset[str]]:
    """Base-id pairs that are neither clear duplicates nor clear negatives."""
    return {frozenset((f"fakes/{a}", f"fakes/{b}")) for a, b in FAKES_AMBIGUOUS}


def split_paragraphs(text: str) -> list[str]:
    """Non-empty paragraphs of a text (blank-line or newline separated)."""
    return [part.strip() for part in re.split(r"\n\s*\n|\n", text) if part.strip()]


def add_chrome(text: str, rng: random.Random) -> str:
    """The text inside another site's page chrome: navigation and share lines above, related links below."""
    head = rng.sample(CHROME_HEAD, 2)
    tail = rng.sample(CHROME_TAIL, 3)
    return "\n".join([*head, text, *tail])


def rewrite_headline(title: str, text: str, rng: random.Random) -> tuple[str, str]:
    """(original with its headline, copy with a rewritten headline): the body is the same in both."""
    if not title:
        sentences = SENTENCE_END_RE.split(text.strip(), maxsplit=1)
        title = sentences[0][:140]
    words = re.findall(r"\w+", text)
    rewritten = " ".join(rng.sample(words, min(9, len(words))))
    prefix = rng.choice(HEADLINE_PREFIXES)
    return f"{title}\n\n{text}", f"{prefix} {rewritten.capitalize()}\n\n{text}".strip()


def add_dateline(text: str, rng: random.Random) -> str:
    """The text behind a wire dateline such as "BEIRUT (AP) — "."""
    return f"{rng.choice(DATELINE_PLACES)} ({rng.choice(DATELINE_AGENCIES)}) — {text.lstrip()}"


def cut_last_paragraph(text: str, rng: random.Random) -> str:
    """The text without its last paragraph (or its last sentences, at most a fifth of the words)."""
    paragraphs = split_paragraphs(text)
    total_words = len(text.split())
    if len(paragraphs) >= 3 and len(paragraphs[-1].split()) <= 0.2 * total_words:
        return "\n\n".join(paragraphs[:-1])
    sentences = SENTENCE_END_RE.split(text.strip())
    kept, dropped_words = list(sentences), 0
    while len(kept) > 1 and dropped_words + len(kept[-1].split()) <= 0.2 * total_words:
        dropped_words += len(kept.pop().split())
        if dropped_words >= 0.1 * total_words:
            break
    if dropped_words == 0:  # one long sentence or no sentence marks: cut the last tenth of the words
        words = text.split()
        return " ".join(words[: max(1, int(len(words) * 0.9))])
    return " ".join(kept)


def edit_words(text: str, rng: random.Random, share: float = EDIT_SHARE) -> str:
    """The text with about `share` of its words replaced, deleted or joined by an inserted word."""
    out: list[str] = []
    for word in text.split(" "):
        if word.strip() and rng.random() < share:
            action = rng.random()
            if action < 0.6:
                out.append(rng.choice(FILLER_WORDS))
            elif action < 0.8:
                continue
            else:
                out.extend((word, rng.choice(FILLER_WORDS)))
        else:
            out.append(word)
    return " ".join(out)


def make_variant(kind: str, base: Base, rng: random.Random) -> tuple[str, str]:
    """(original text, variant text) for one kind of syndicated copy of a base text."""
    if kind == "chrome":
        return base.text, add_chrome(base.text, rng)
    if kind == "headline":
        return rewrite_headline(base.title, base.text, rng)
    if kind == "dateline":
        return base.text, add_dateline(base.text, rng)
    if kind == "truncate":
        return base.text, cut_last_paragraph(base.text, rng)
    if kind == "edit5":
        return base.text, edit_words(base.text, rng)
    if kind == "combined":
        copy = edit_words(cut_last_paragraph(base.text, rng), rng)
        _, copy = rewrite_headline(base.title, add_dateline(copy, rng), rng)
        return base.text, add_chrome(copy, rng)
    raise ValueError(f"unknown variant kind {kind!r}")


def build_pool(bases: list[Base], seed: int = 20240611) -> list[Doc]:
    """Every base text and its variants, deterministic for a seed.

    The "headline" kind pairs the body-with-headline against the body-with-rewritten-headline, so its original
    is a document of its own.
    """
    families = family_of_bases(bases)
    pool: list[Doc] = []
    for index, base in enumerate(bases):
        rng = random.Random(seed * 1_000_003 + index)
        family = families[base.base_id]
        pool.append(Doc(base.base_id, family, "original", base.origin, base.text, base.topic))
        for kind in VARIANT_KINDS:
            original, variant = make_variant(kind, base, rng)
            if original != base.text:
                pool.append(Doc(f"{base.base_id}#{kind}-original", family, f"{kind}-original", base.origin,
                                original, base.topic))
            pool.append(Doc(f"{base.base_id}#{kind}", family, kind, base.origin, variant, base.topic))
    return pool
