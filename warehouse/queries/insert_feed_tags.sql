-- Tags given to feeds from the command line or an OPML folder; a tag a feed already has is left as it is.
INSERT INTO feed_tags (feed_url, tag, added_at)
SELECT DISTINCT ON (n.feed_url, n.tag) n.feed_url, n.tag, n.added_at
FROM new_feed_tags AS n
ANTI JOIN feed_tags AS t ON t.feed_url = n.feed_url AND t.tag = n.tag;
