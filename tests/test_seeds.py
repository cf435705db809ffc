"""Consistency of the bundled seed data: sources.yaml, the mirror's feeds and pages, and cases.json."""

from __future__ import annotations

import calendar
import html
import json
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
import yaml
from protego import Protego

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SOURCES = yaml.safe_load((SEEDS / "sources.yaml").read_text(encoding="utf-8"))
MIRROR = SEEDS / SOURCES["mirror"]
CASES = json.loads((SEEDS / "cases.json").read_text(encoding="utf-8"))
FEED_URLS = [feed["url"] for feed in SOURCES["feeds"]]
FIRST_DAY, LAST_DAY = date(2016, 4, 1), date(2016, 6, 30)
AGENT = "newsdesk"


VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
             "wbr"}


class PageReader(HTMLParser):
    """Collect each <p>'s text with its nearest classed container, the canonical link and <meta> values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[tuple[str, str]] = []  # (container class, text)
        self.meta: dict[str, str] = {}
        self.canonical: str | None = None
        self._open: list[tuple[str, str]] = []  # (tag, class) of open elements
        self._parts: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "meta" and "content" in values:
            self.meta[values.get("property") or values.get("name") or ""] = values["content"]
        elif tag == "link" and values.get("rel") == "canonical":
            self.canonical = values.get("href")
        if tag == "p":
            self._parts = []
        if tag not in VOID_TAGS:
            self._open.append((tag, values.get("class", "")))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break
        if tag == "p" and self._parts is not None:
            container = next((cls for _, cls in reversed(self._open) if cls), "")
            self.paragraphs.append((container, " ".join("".join(self._parts).split())))
            self._parts = None

    def handle_data(self, data: str) -> None:
        if self._parts is not None:
            self._parts.append(data)

    def body(self) -> list[str]:
        """Paragraphs of the container that holds the most text: the article body."""
        words: dict[str, int] = {}
        for container, text in self.paragraphs:
            words[container] = words.get(container, 0) + len(text.split())
        main = max(words, key=words.__getitem__)
        return [text for container, text in self.paragraphs if container == main]


def mirror_path(url: str) -> Path:
    """The mirror file that answers `url` (query ignored, trailing slash -> index.html)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if path.endswith("/"):
        path += "index.html"
    return MIRROR / parts.hostname / path.lstrip("/")


def read_page(url: str) -> PageReader:
    """Parse the mirrored page for `url`."""
    reader = PageReader()
    reader.feed(mirror_path(url).read_text(encoding="utf-8"))
    return reader


def body_paragraphs(url: str) -> list[str]:
    """The article body paragraphs of the mirrored page for `url`."""
    return read_page(url).body()


def parse_feed(url: str) -> feedparser.FeedParserDict:
    """Parse a mirrored feed from its bytes."""
    return feedparser.parse(mirror_path(url).read_bytes())


def all_entries() -> list[tuple[str, feedparser.FeedParserDict]]:
    """Every (feed URL, entry) of every configured feed."""
    return [(url, entry) for url in FEED_URLS for entry in parse_feed(url).entries]


def entry_date(entry: feedparser.FeedParserDict) -> date:
    """The entry's published (or updated) date in UTC."""
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    assert parsed is not None, f"entry without a date: {entry.get('title')}"
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC).date()


def linked_urls() -> set[str]:
    """Every link that some feed entry carries."""
    return {entry.link for _, entry in all_entries() if entry.get("link")}


def seed_text_paragraphs() -> list[str]:
    """Paragraphs of seeds/seed_article.txt."""
    return (SEEDS / CASES["seed_article_text"]).read_text(encoding="utf-8").strip().split("\n\n")


def test_sources_file_points_at_existing_mirror_and_feeds():
    assert MIRROR.is_dir()
    assert len(FEED_URLS) >= 4
    for url in FEED_URLS:
        assert mirror_path(url).is_file(), url


@pytest.mark.parametrize("url", FEED_URLS)
def test_feed_parses_cleanly_with_titles_links_and_ids(url):
    feed = parse_feed(url)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version in {"rss20", "atom10"}
    assert feed.entries
    for entry in feed.entries:
        assert entry.get("title") and entry.get("id") and entry.get("summary")


def test_feeds_cover_rss_and_atom_with_refresh_hints():
    versions = [parse_feed(url).version for url in FEED_URLS]
    assert versions.count("rss20") >= 2 and versions.count("atom10") >= 2
    raw = {url: mirror_path(url).read_text(encoding="utf-8") for url in FEED_URLS}
    assert "<ttl>30</ttl>" in raw[CASES["ttl_feed"]]
    assert "<sy:updatePeriod>" in raw[CASES["sy_update_feed"]]
    assert "<sy:updateFrequency>" in raw[CASES["sy_update_feed"]]


def test_feeds_hold_at_least_36_items_dated_april_to_june_2016():
    entries = all_entries()
    assert len(entries) >= 36
    for _, entry in entries:
        assert FIRST_DAY <= entry_date(entry) <= LAST_DAY, entry.title


def test_every_link_has_a_mirror_page_except_the_documented_404():
    links = linked_urls()
    missing = {url for url in links if not mirror_path(url).is_file()}
    assert missing == {CASES["page_404"]}


def test_only_the_malformed_entry_lacks_a_link():
    linkless = [(url, entry) for url, entry in all_entries() if not entry.get("link")]
    assert len(linkless) == 1
    feed_url, entry = linkless[0]
    assert feed_url == CASES["malformed_entry_feed"]
    assert entry.id == CASES["malformed_entry_guid"]
    assert not entry.id.startswith(("http://", "https://"))


def test_hosts_are_fictional_and_robots_allow_every_feed_and_link():
    hosts = {p.name for p in MIRROR.iterdir() if p.is_dir()}
    assert len(hosts) >= 4
    assert all(host.endswith(".example") for host in hosts)
    rules = {host: Protego.parse((MIRROR / host / "robots.txt").read_text(encoding="utf-8"))
             for host in hosts}
    for url in [*FEED_URLS, *linked_urls()]:
        assert rules[urlsplit(url).hostname].can_fetch(url, AGENT), url


def test_every_page_has_canonical_link_byline_and_aware_publication_time():
    pages = sorted(path for path in MIRROR.rglob("*.html"))
    assert len(pages) >= 30
    for path in pages:
        host = path.relative_to(MIRROR).parts[0]
        url = f"https://{host}/{path.relative_to(MIRROR / host).as_posix()}"
        page = read_page(url)
        assert page.canonical == url, path
        assert page.meta.get("author"), path
        published = datetime.fromisoformat(page.meta["article:published_time"])
        assert published.tzinfo is not None, path
        assert FIRST_DAY <= published.astimezone(UTC).date() <= LAST_DAY, path


def test_item_pages_carry_150_to_600_words_of_body():
    for url in linked_urls() - {CASES["page_404"], CASES["seed_article"]}:
        words = sum(len(p.split()) for p in body_paragraphs(url))
        assert 150 <= words <= 600, (url, words)


def test_seed_page_holds_every_paragraph_verbatim_plus_caption_and_screenshot():
    page_html = html.unescape(mirror_path(CASES["seed_article"]).read_text(encoding="utf-8"))
    paragraphs = seed_text_paragraphs()
    assert 600 <= sum(len(p.split()) for p in paragraphs) <= 900
    for paragraph in paragraphs:
        assert paragraph in page_html, paragraph[:60]
    assert f">{CASES['seed_screenshot_line']}<" in page_html
    assert CASES["seed_caption"] in page_html
    # the leaked screenshot line sits inside the body, between two of its paragraphs
    body = body_paragraphs(CASES["seed_article"])
    assert CASES["seed_screenshot_line"] in body[1:-1]
    assert [p for p in body if p != CASES["seed_screenshot_line"]] == paragraphs


def test_seed_text_names_the_topics_the_tagger_must_find():
    text = "\n\n".join(seed_text_paragraphs())
    for name in ("Syria", "Aleppo", "Damascus", "Idlib", "Al-Nusra Front", "Jabhat al-Nusra", "Nusra Front",
                 "ISIS", "Islamic State", "Free Syrian Army", "Russia", "United States", "ceasefire"):
        assert name in text, name
    assert "Screen Shot" not in text and "AP Photo" not in text
    assert re.fullmatch(r"(?:[^\n]+\n\n)*[^\n]+", text)


def test_seed_article_is_a_levantdispatch_item_of_2016_05_24():
    matches = [entry for _, entry in all_entries() if entry.get("link") == CASES["seed_article"]]
    assert len(matches) == 1
    assert entry_date(matches[0]) == date(2016, 5, 24)
    meta = read_page(CASES["seed_article"]).meta
    assert meta["article:section"] == "News & Politics"
    assert meta["og:type"] == "article"
    assert datetime.fromisoformat(meta["article:published_time"]).date() == date(2016, 5, 24)


def test_syndicated_story_is_carried_by_three_hosts_with_small_differences():
    urls = CASES["syndicated"]
    assert len({urlsplit(url).hostname for url in urls}) == 3
    assert set(urls) <= linked_urls()
    bodies = [body_paragraphs(url) for url in urls]
    wire = bodies[0]
    assert all(body[0].startswith("BEIRUT (AP) — ") for body in bodies)
    assert len({read_page(url).meta["og:title"] for url in urls}) == 3
    assert bodies[1] == wire[:-1]  # one copy cuts the last paragraph
    edited = [i for i, (a, b) in enumerate(zip(wire, bodies[2], strict=True)) if a != b]
    assert 1 <= len(edited) <= 3  # another edits a few words


def test_tracking_repost_serves_the_same_page_as_the_clean_link():
    repost, original = CASES["tracking_repost"], CASES["tracking_repost_of"]
    assert "utm_source=twitter" in repost and "utm_medium=social" in repost
    assert repost in linked_urls() and original in linked_urls()
    assert mirror_path(repost) == mirror_path(original)
    entries = {entry.link: entry for _, entry in all_entries() if entry.get("link") in {repost, original}}
    assert entries[repost].id != entries[original].id


def test_exact_copy_pages_share_identical_body_text_under_two_urls():
    first, second = CASES["exact_copy"]
    assert first != second and {first, second} <= linked_urls()
    assert body_paragraphs(first) == body_paragraphs(second)
    assert len(body_paragraphs(first)) >= 4


def test_off_topic_pages_never_mention_the_war():
    assert len(CASES["off_topic"]) >= 5
    for url in CASES["off_topic"]:
        text = " ".join(body_paragraphs(url))
        for word in ("Syria", "Aleppo", "Damascus", "ISIS", "Islamic State", "Nusra", "ceasefire"):
            assert word not in text, (url, word)
    henderson = next(url for url in CASES["off_topic"] if "henderson" in url)
    text = " ".join(body_paragraphs(henderson))
    assert "Jordan Henderson" in text
    assert text.count("Jordan") == text.count("Jordan Henderson")
