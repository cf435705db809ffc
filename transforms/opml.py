"""OPML subscription lists, pure: read a file's outlines as feeds (folders become tags) and write them back.

Parsed with defusedxml's ElementTree rather than listparser: listparser drops the outline attributes it does
not know and merges repeated feeds without saying so, and newsdesk keeps the first and reports the second.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from transforms.urls import is_http_url

# Outline attributes mapped to feed fields, compared in lower case (files spell xmlUrl, xmlurl, XMLURL, ...).
MAPPED_ATTRIBUTES = {"text", "xmlurl", "htmlurl", "language", "category"}


class OpmlError(ValueError):
    """The document cannot be read as OPML at all (one line)."""


@dataclass(frozen=True)
class OutlineFeed:
    """One feed of a subscription list."""

    feed_url: str
    name: str | None = None
    html_url: str | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)  # outline attributes kept as found


@dataclass
class OpmlList:
    """What an OPML file held: its feeds in document order, and one line per outline skipped or merged."""

    title: str | None
    feeds: list[OutlineFeed]
    problems: list[str]


def local_name(tag: str) -> str:
    """An element or attribute name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def split_categories(value: str | None) -> list[str]:
    """OPML `category` values ("/World/Syria,desk") as tags ("World/Syria", "desk")."""
    return [part.strip().strip("/").strip() for part in (value or "").split(",") if part.strip().strip("/")]


def read_outline(attributes: dict[str, str], folders: tuple[str, ...]) -> OutlineFeed:
    """A feed from one outline's attributes and the folders it sits in."""
    lowered = {key.lower(): value.strip() for key, value in attributes.items()}
    feed_url = lowered["xmlurl"]
    label = lowered.get("text") or lowered.get("title") or None
    kept = {key: value for key, value in attributes.items() if key.lower() not in MAPPED_ATTRIBUTES}
    if kept.get("title", "").strip() in {"", label}:  # a title repeating the text is written back as such
        kept.pop("title", None)
    tags = dict.fromkeys([*folders, *split_categories(lowered.get("category"))])
    return OutlineFeed(
        feed_url=feed_url,
        name=None if label == feed_url else label,
        html_url=lowered.get("htmlurl") or None,
        language=lowered.get("language") or None,
        tags=tuple(sorted(tags)),
        attributes=kept,
    )


def merge_feed(first: OutlineFeed, again: OutlineFeed) -> OutlineFeed:
    """A feed listed twice (often once per folder): the first listing, with the tags of both."""
    tags = tuple(sorted({*first.tags, *again.tags}))
    return OutlineFeed(first.feed_url, first.name, first.html_url, first.language, tags, first.attributes)


def child_outlines(element: ElementTree.Element) -> list[ElementTree.Element]:
    """The <outline> children of an element."""
    return [child for child in element if local_name(child.tag) == "outline"]


def add_outline_feed(
    found: dict[str, OutlineFeed], problems: list[str], feed: OutlineFeed, label: str
) -> None:
    """Keep a feed by URL: an invalid URL is skipped and a repeat merged, each with a line in `problems`."""
    if not is_http_url(feed.feed_url):
        problems.append(f"skipped {label or 'an outline'!r}: xmlUrl {feed.feed_url!r} is not an http(s) URL")
    elif feed.feed_url in found:
        problems.append(f"{feed.feed_url} is listed more than once; its folders were merged as tags")
        found[feed.feed_url] = merge_feed(found[feed.feed_url], feed)
    else:
        found[feed.feed_url] = feed


def parse_opml(document: bytes) -> OpmlList:
    """Read an OPML document: bad outlines are reported in `problems`; an unreadable one raises OpmlError."""
    try:
        root = SafeElementTree.fromstring(document)
    except (ElementTree.ParseError, DefusedXmlException) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise OpmlError(f"not readable as OPML: {reason}") from error
    if local_name(root.tag) != "opml":
        raise OpmlError(f"not an OPML file: its root element is <{local_name(root.tag)}>, not <opml>")
    body = next((child for child in root if local_name(child.tag) == "body"), None)
    if body is None:
        raise OpmlError("not an OPML file: it has no <body>")
    titles = [e.text.strip() for e in root.iterfind("head/title") if e.text and e.text.strip()]
    found: dict[str, OutlineFeed] = {}
    problems: list[str] = []
    stack = [(outline, ()) for outline in reversed(child_outlines(body))]
    while stack:  # depth first, in document order
        outline, folders = stack.pop()
        lowered = {key.lower(): value.strip() for key, value in outline.attrib.items()}
        label = lowered.get("text") or lowered.get("title") or ""
        if "xmlurl" in lowered:
            add_outline_feed(found, problems, read_outline(dict(outline.attrib), folders), label)
        inner = (*folders, label) if label and "xmlurl" not in lowered else folders
        stack.extend((child, inner) for child in reversed(child_outlines(outline)))
    return OpmlList(titles[0] if titles else None, list(found.values()), problems)


def outline_attributes(feed: OutlineFeed, other_tags: tuple[str, ...]) -> dict[str, str]:
    """The attributes of a feed's outline: mapped fields first, then the attributes kept from an import."""
    text = feed.name or feed.feed_url
    attributes = {"text": text, "title": feed.attributes.get("title", text), "type": "rss"}
    attributes.update({key: value for key, value in feed.attributes.items() if key != "title"})
    attributes["xmlUrl"] = feed.feed_url
    if feed.html_url:
        attributes["htmlUrl"] = feed.html_url
    if feed.language:
        attributes["language"] = feed.language
    if other_tags:
        attributes["category"] = ",".join(other_tags)
    return attributes


def render_opml(feeds: list[OutlineFeed], title: str) -> bytes:
    """An OPML 2.0 document: each feed in a folder named by its first tag, its other tags as `category`."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    body = ElementTree.SubElement(root, "body")
    folders: dict[str, ElementTree.Element] = {}
    for feed in feeds:
        parent = body
        if feed.tags:
            first = feed.tags[0]
            if first not in folders:
                folders[first] = ElementTree.SubElement(body, "outline", text=first, title=first)
            parent = folders[first]
        ElementTree.SubElement(parent, "outline", outline_attributes(feed, feed.tags[1:]))
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
