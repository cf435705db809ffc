"""parse_feed: entries, links, dates, hints, bozo reasons, and the XML attack cases."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

from transforms.feeds import parse_feed, strip_entity_declarations

FEED_URL = "https://news.example/feeds/world.xml"

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
<channel><title>World desk</title><link>https://news.example/</link>
<item><title>Aleppo ceasefire</title><link>/2024/aleppo.html</link><guid isPermaLink="false">id-1</guid>
<pubDate>Tue, 02 Jan 2024 10:00:00 +0200</pubDate><description>Talks resumed.</description></item>
<item><title>No link here</title><description>orphan</description></item>
<item><title>Script link</title><link>javascript:alert(1)</link></item>
<item><title>Only link</title><link>https://other.example/story</link></item>
</channel></rss>"""


def test_rss_entries_links_guid_and_dates():
    feed = parse_feed(RSS.encode(), FEED_URL, {"content-type": "application/rss+xml; charset=utf-8"})
    assert feed.error is None and not feed.bozo and feed.title == "World desk"
    first = feed.entries[0]
    assert first.link == "https://news.example/2024/aleppo.html" and first.guid == "id-1"
    assert first.published_at == datetime(2024, 1, 2, 8, 0, tzinfo=UTC)
    assert first.summary == "Talks resumed." and first.error is None
    assert feed.entries[3].guid == "https://other.example/story"


def test_entry_without_link_is_kept_with_error():
    feed = parse_feed(RSS.encode(), FEED_URL)
    orphan = feed.entries[1]
    assert len(feed.entries) == 4
    assert orphan.link is None and orphan.error == "entry has no link"
    assert orphan.guid.startswith("sha1:")
    assert parse_feed(RSS.encode(), FEED_URL).entries[1].guid == orphan.guid  # stable


def test_entry_with_unsupported_scheme_gets_error():
    feed = parse_feed(RSS.encode(), FEED_URL)
    assert "unsupported scheme 'javascript'" in feed.entries[2].error


def test_ttl_from_rss_ttl():
    body = RSS.replace("<title>World desk</title>", "<title>W</title><ttl>45</ttl>").encode()
    assert parse_feed(body, FEED_URL).ttl_minutes == 45


def test_ttl_from_syndication_module():
    body = RSS.replace(
        "<title>World desk</title>",
        "<title>W</title><sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>",
    ).encode()
    assert parse_feed(body, FEED_URL).ttl_minutes == 360


def test_atom_feed():
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom desk</title><id>urn:x</id>
<entry><title>Idlib</title><id>urn:e1</id><link rel="alternate" href="idlib.html"/>
<updated>2024-03-01T12:00:00Z</updated></entry></feed>"""
    feed = parse_feed(atom, FEED_URL)
    entry = feed.entries[0]
    assert entry.guid == "urn:e1" and entry.link == "https://news.example/feeds/idlib.html"
    assert entry.published_at == datetime(2024, 3, 1, 12, tzinfo=UTC)


def test_json_feed():
    body = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "J",
      "items": [{"id": "7", "url": "https://news.example/j", "title": "Homs",
                 "date_published": "2024-05-01T10:00:00+02:00"}, {"id": "8", "title": "none"}]}"""
    feed = parse_feed(body, FEED_URL, {"content-type": "application/feed+json"})
    assert feed.title == "J" and feed.entries[0].guid == "7"
    assert feed.entries[0].published_at == datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert feed.entries[1].error == "entry has no link"


def test_gzip_document_is_unpacked():
    feed = parse_feed(gzip.compress(RSS.encode()), FEED_URL)
    assert feed.title == "World desk" and len(feed.entries) == 4


def test_malformed_xml_keeps_recoverable_items_and_reason():
    broken = RSS.replace("</channel></rss>", "<item><title>cut").encode()
    feed = parse_feed(broken, FEED_URL)
    assert feed.bozo and feed.bozo_reason and "\n" not in feed.bozo_reason
    assert feed.entries[0].link == "https://news.example/2024/aleppo.html"
    assert feed.error is None


def test_html_page_is_not_a_feed():
    feed = parse_feed(b"<html><head><title>Home</title></head><body><p>hi</body></html>", FEED_URL)
    assert feed.error and feed.error.startswith("not a feed") and feed.entries == []


def test_empty_and_garbage_documents_never_raise():
    for body in (b"", b"   ", b"\x00\xff\xfe garbage", b"{not json", gzip.compress(b"")[:5]):
        feed = parse_feed(body, FEED_URL)
        assert feed.error is not None


def test_wrong_declared_charset_decodes_real_text():
    text = RSS.replace("Aleppo ceasefire", "Алеппо: перемирие").replace(
        'encoding="utf-8"', 'encoding="windows-1251"'
    )
    feed = parse_feed(
        text.encode("windows-1251"), FEED_URL, {"content-type": "application/xml; charset=utf-8"}
    )
    assert feed.entries[0].title == "Алеппо: перемирие"


def test_legacy_charset_from_xml_declaration():
    text = RSS.replace("Aleppo ceasefire", "Алеппо").replace('encoding="utf-8"', 'encoding="windows-1251"')
    feed = parse_feed(text.encode("windows-1251"), FEED_URL)
    assert feed.entries[0].title == "Алеппо" and not feed.bozo


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>t &lol9;</title><link>https://news.example/b</link></item></channel></rss>"""


def test_billion_laughs_is_not_expanded():
    feed = parse_feed(BILLION_LAUGHS, FEED_URL)
    assert "lollollol" not in (feed.title or "") and all(
        "lollol" not in (e.title or "") for e in feed.entries
    )
    assert feed.bozo and "entity" in feed.bozo_reason.lower()
    assert feed.entries[0].link == "https://news.example/b"


def test_xxe_does_not_read_local_files(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>
<rss version="2.0"><channel><title>x &xxe;</title>
<item><title>&xxe;</title><link>https://news.example/x</link><description>&xxe;</description></item>
</channel></rss>""".encode()
    feed = parse_feed(body, FEED_URL)
    rendered = repr(feed)
    assert "TOP-SECRET-CONTENT" not in rendered
    assert feed.bozo and feed.entries and feed.entries[0].link == "https://news.example/x"


def test_strip_entity_declarations_leaves_plain_doctype():
    plain = b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" "x.dtd"><rss/>'
    assert strip_entity_declarations(plain) == (plain, False)
