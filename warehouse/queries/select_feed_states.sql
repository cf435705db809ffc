-- Polling state of the configured feeds.
SELECT f.*
FROM feeds AS f
JOIN configured_feeds AS c USING (feed_url)
ORDER BY f.feed_url;
