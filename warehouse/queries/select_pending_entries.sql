-- Entries left by runs that ended before loading them, or held until their host's Retry-After, oldest first.
SELECT feed_url, guid, link, title, summary, published_at, error, updated_at, run_id, polled_at, resumed, due_at
FROM pending_entries
ORDER BY polled_at, feed_url, guid;
