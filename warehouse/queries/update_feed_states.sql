-- Write back the polling state decided for each polled feed.
UPDATE feeds SET
    title = coalesce(u.title, feeds.title),
    active = u.active,
    inactive_reason = u.inactive_reason,
    etag = u.etag,
    last_modified = u.last_modified,
    body_hash = u.body_hash,
    cache_trusted = u.cache_trusted,
    poll_every_s = u.poll_every_s,
    next_poll_at = u.next_poll_at,
    last_polled_at = u.last_polled_at,
    last_success_at = u.last_success_at,
    last_status = u.last_status,
    last_error = u.last_error,
    consecutive_failures = u.consecutive_failures,
    polls_since_unconditional = u.polls_since_unconditional
FROM feed_updates AS u
WHERE feeds.feed_url = u.feed_url;
