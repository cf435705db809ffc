-- One row per feed on the list (removed feeds left out): is it alive, how it fails, how often it is unchanged,
-- what it yields, how late.
CREATE OR REPLACE VIEW feed_health AS
WITH polls AS (
    -- the feed's attempts in the fetch ledger
    SELECT
        url AS feed_url,
        count(*) AS polls,
        count(*) FILTER (WHERE status = 304) AS not_modified_polls,
        count(*) FILTER (WHERE status BETWEEN 200 AND 299) AS full_polls,
        count(*) FILTER (WHERE status IS NULL OR status >= 400) AS failed_polls,
        avg(elapsed_ms) AS mean_poll_ms
    FROM fetches
    WHERE kind = 'feed'
    GROUP BY url
),
items AS (
    -- the feed's items as first seen
    SELECT
        feed_url,
        count(*) AS items,
        max(published_at) AS last_item_published_at,
        max(first_seen_at) AS last_item_seen_at,
        median(epoch(first_seen_at) - epoch(published_at))
            FILTER (WHERE published_at <= first_seen_at) AS median_lag_s
    FROM entries
    GROUP BY feed_url
)
SELECT
    f.feed_url,
    f.name,
    f.source,                                                          -- outlet host
    f.active,
    coalesce(f.subscription, 'subscribed') AS subscription,            -- subscribed | paused (newsdesk feeds pause)
    f.inactive_reason,
    f.last_polled_at,
    f.last_success_at,                                                 -- last 200 or 304
    f.last_status,                                                     -- HTTP status of the last poll (NULL: no answer)
    f.last_error,
    f.consecutive_failures,
    coalesce(p.polls, 0) AS polls,                                     -- poll attempts recorded
    round(p.not_modified_polls / nullif(p.polls, 0), 3) AS not_modified_share,  -- share answered 304
    round(p.failed_polls / nullif(p.polls, 0), 3) AS failed_share,     -- share with an error or no answer
    coalesce(i.items, 0) AS items,                                     -- distinct items ever seen
    round(coalesce(i.items, 0) / nullif(p.full_polls, 0), 2) AS items_per_poll,  -- new items per poll with a body
    round(p.mean_poll_ms, 1) AS mean_poll_ms,
    round(i.median_lag_s / 60.0, 1) AS median_publish_lag_min,         -- published → first seen, median minutes
    i.last_item_published_at,
    i.last_item_seen_at
FROM feeds AS f
LEFT JOIN polls AS p USING (feed_url)
LEFT JOIN items AS i USING (feed_url)
WHERE coalesce(f.subscription, 'subscribed') <> 'removed';
