-- Rows of the feeds table, every column, for `newsdesk feeds`: all of them, or the one $feed_url names.
SELECT *
FROM feeds
WHERE $feed_url IS NULL OR feed_url = $feed_url
ORDER BY feed_url;
