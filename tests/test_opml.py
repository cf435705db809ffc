"""OPML subscription lists: folders become tags, unknown attributes are kept, bad outlines are reported."""

import pytest

from transforms.feed_lists import outline_from_row, render_feeds_csv, render_sources_yaml
from transforms.opml import OpmlError, OutlineFeed, parse_opml, render_opml

# Shaped like a feed reader's export: nested folders, a feed in two folders, a feed with no folder, reader-specific
# attributes, a lower-case `xmlurl`, a broken entry and an entry with no URL at all.
READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0" xmlns:fr="https://freshrss.org/opml">
  <head><title>Desk subscriptions</title><dateCreated>Mon, 23 May 2016 05:00:00 GMT</dateCreated></head>
  <body>
    <outline text="Middle East" title="Middle East">
      <outline text="Syria desk">
        <outline type="rss" text="Levant Dispatch" title="Levant Dispatch" language="en"
                 xmlUrl="https://www.levantdispatch.example/feeds/world.xml"
                 htmlUrl="https://www.levantdispatch.example/" description="World news from Beirut"
                 fr:priority="important"/>
        <outline type="atom" text="Crescent Post" title="The Crescent Post"
                 xmlUrl="https://www.crescentpost.example/feeds/rss.xml" category="/wires,syria-desk"/>
      </outline>
      <outline text="Broken one" type="rss" xmlUrl="feed://not-a-web-address"/>
      <outline text="No address" type="rss" xmlUrl=""/>
    </outline>
    <outline text="UK">
      <outline text="Harbour Times" type="rss" xmlurl="https://news.harbourtimes.example/feeds/news.xml"/>
      <outline text="Levant Dispatch (again)" type="rss" xmlUrl="https://www.levantdispatch.example/feeds/world.xml"/>
    </outline>
    <outline text="https://www.meridianwire.example/feeds/latest.xml" type="rss"
             xmlUrl="https://www.meridianwire.example/feeds/latest.xml"/>
  </body>
</opml>
"""


def feeds_by_url(document: bytes) -> dict[str, OutlineFeed]:
    return {feed.feed_url: feed for feed in parse_opml(document).feeds}


def test_nested_folders_become_tags():
    feeds = feeds_by_url(READER_EXPORT)
    levant = feeds["https://www.levantdispatch.example/feeds/world.xml"]
    assert levant.name == "Levant Dispatch"
    assert levant.html_url == "https://www.levantdispatch.example/"
    assert levant.language == "en"
    assert feeds["https://news.harbourtimes.example/feeds/news.xml"].tags == ("UK",)


def test_category_attribute_adds_tags():
    crescent = feeds_by_url(READER_EXPORT)["https://www.crescentpost.example/feeds/rss.xml"]
    assert crescent.tags == ("Middle East", "Syria desk", "syria-desk", "wires")


def test_a_feed_listed_twice_is_kept_once_with_both_folders_and_reported():
    parsed = parse_opml(READER_EXPORT)
    urls = [feed.feed_url for feed in parsed.feeds]
    assert urls.count("https://www.levantdispatch.example/feeds/world.xml") == 1
    levant = feeds_by_url(READER_EXPORT)["https://www.levantdispatch.example/feeds/world.xml"]
    assert levant.name == "Levant Dispatch"  # the first listing wins
    assert levant.tags == ("Middle East", "Syria desk", "UK")
    assert any("levantdispatch" in line and "more than once" in line for line in parsed.problems)


def test_invalid_urls_are_reported_not_fatal():
    parsed = parse_opml(READER_EXPORT)
    assert len(parsed.feeds) == 4
    skipped = [line for line in parsed.problems if line.startswith("skipped")]
    assert skipped == [
        "skipped 'Broken one': xmlUrl 'feed://not-a-web-address' is not an http(s) URL",
        "skipped 'No address': xmlUrl '' is not an http(s) URL",
    ]


def test_unknown_attributes_are_kept_as_found():
    feeds = feeds_by_url(READER_EXPORT)
    levant = feeds["https://www.levantdispatch.example/feeds/world.xml"]
    assert levant.attributes == {
        "type": "rss",
        "description": "World news from Beirut",
        "{https://freshrss.org/opml}priority": "important",
    }
    crescent = feeds["https://www.crescentpost.example/feeds/rss.xml"]
    assert crescent.attributes == {"type": "atom", "title": "The Crescent Post"}  # title differs from text


def test_a_label_that_is_the_url_is_no_name():
    meridian = feeds_by_url(READER_EXPORT)["https://www.meridianwire.example/feeds/latest.xml"]
    assert meridian.name is None and meridian.tags == ()


def test_title_comes_from_the_head():
    assert parse_opml(READER_EXPORT).title == "Desk subscriptions"


def test_render_then_parse_gives_the_same_feeds():
    original = parse_opml(READER_EXPORT).feeds
    again = parse_opml(render_opml(original, "newsdesk feeds"))
    assert again.problems == []
    assert sorted(again.feeds, key=lambda f: f.feed_url) == sorted(original, key=lambda f: f.feed_url)


def test_rendered_feed_sits_in_its_first_tags_folder_with_the_rest_as_category():
    feed = OutlineFeed("https://a.example/rss", "A", tags=("desk", "syria", "wires"))
    document = render_opml([feed], "t").decode("utf-8")
    assert '<outline text="desk" title="desk">' in document
    assert 'category="syria,wires"' in document and 'xmlUrl="https://a.example/rss"' in document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"", "not readable as OPML"),
        (b"<opml><body><outline", "not readable as OPML"),
        (b"<rss version='2.0'><channel/></rss>", "its root element is <rss>, not <opml>"),
        (b"<opml version='2.0'><head/></opml>", "it has no <body>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body>&a;</body></opml>',
            "not readable as OPML",
        ),
    ],
)
def test_unreadable_documents_raise_one_line(document, message):
    with pytest.raises(OpmlError, match=message) as raised:
        parse_opml(document)
    assert "\n" not in str(raised.value)


def test_export_rows_as_yaml_and_csv():
    rows = [
        {
            "feed_url": "https://a.example/rss",
            "name": None,
            "title": "A Daily",
            "language": "en",
            "tags": ["desk", "syria"],
            "html_url": None,
            "poll_every_s": 900,
            "subscription": "paused",
            "origin": "imported",
            "outline_attributes": '{"type": "atom"}',
        }
    ]
    assert render_sources_yaml(rows) == (
        "feeds:\n- url: https://a.example/rss\n  language: en\n  tags:\n  - desk\n  - syria\n"
    )
    assert render_feeds_csv(rows).splitlines() == [
        "feed_url,name,language,tags,html_url,poll_every_s,subscription,origin,title",
        "https://a.example/rss,,en,desk;syria,,900,paused,imported,A Daily",
    ]
    outline = outline_from_row(rows[0])
    assert outline.name == "A Daily" and outline.attributes == {"type": "atom"}
