-- Tags given to feeds from the command line or an OPML folder; a tag a feed already has is left as it is.
INSERT INTO feed_tags (feed_url, tag, added_at)
SELECT feed_url, tag, added_at FROM new_feed_tags
ON CONFLICT DO NOTHING;
