-- Polling state of the feeds a run polls: the sources file's feeds and every feed added or imported from the
-- command line, less the paused and the removed ones.
SELECT f.*
FROM feeds AS f
WHERE f.subscription = 'subscribed'
    AND (f.origin <> 'sources' OR f.feed_url IN (SELECT feed_url FROM configured_feeds))
ORDER BY f.feed_url;
