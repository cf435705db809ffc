-- Edit one feed's name, language or polling interval from the command line (a NULL leaves the value as it is).
-- The feed becomes owned by the command line, so that the sources file no longer changes it. A new interval
-- also brings the next poll forward when it falls due sooner under the new interval.
UPDATE feeds SET
    name = coalesce($name, name),
    language = coalesce($language, language),
    poll_every_s = coalesce($poll_every_s, poll_every_s),
    next_poll_at = CASE
        WHEN $poll_every_s IS NULL THEN next_poll_at
        ELSE least(
            coalesce(next_poll_at, $now),
            coalesce(last_polled_at, $now) + to_seconds(CAST($poll_every_s AS BIGINT))
        )
    END,
    origin = CASE WHEN origin = 'sources' THEN 'added' ELSE origin END
WHERE feed_url = $feed_url AND subscription <> 'removed';
