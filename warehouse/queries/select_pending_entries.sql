-- Entries of the run's feeds (run_feeds) left by runs that ended before loading them, or held until their host's
-- Retry-After, oldest first. Other feeds' entries belong to the runs polling those feeds (another sources file,
-- another shard), which may be loading them right now.
SELECT p.feed_url, p.guid, p.link, p.title, p.summary, p.published_at, p.error, p.updated_at, p.run_id,
    p.polled_at, p.resumed, p.due_at
FROM pending_entries AS p
SEMI JOIN run_feeds AS r USING (feed_url)
ORDER BY p.polled_at, p.feed_url, p.guid;
