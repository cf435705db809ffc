-- The sources file's tags for the feeds it owns; tags already there (from any earlier run) stay as they are.
INSERT INTO feed_tags (feed_url, tag, added_at)
SELECT DISTINCT ON (c.feed_url, c.tag) c.feed_url, c.tag, c.added_at
FROM configured_feed_tags AS c
JOIN feeds AS f USING (feed_url)
ANTI JOIN feed_tags AS t ON t.feed_url = c.feed_url AND t.tag = c.tag
WHERE f.origin = 'sources';
