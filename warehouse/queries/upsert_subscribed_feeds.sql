-- Feeds added (`newsdesk feeds add`) or imported (`feeds import`): new ones are inserted; a known one keeps its
-- polling state, takes the values given (those not given stay), becomes owned by the command line and is
-- subscribed again if it was paused or removed.
INSERT INTO feeds (
    feed_url, name, language, source, html_url, outline_attributes, origin, subscription,
    subscription_changed_at, added_at
)
SELECT
    feed_url, name, language, source, html_url, outline_attributes, origin, 'subscribed', added_at, added_at
FROM subscribed_feeds
ON CONFLICT (feed_url) DO UPDATE SET
    name = coalesce(excluded.name, feeds.name),
    language = coalesce(excluded.language, feeds.language),
    html_url = coalesce(excluded.html_url, feeds.html_url),
    outline_attributes = coalesce(excluded.outline_attributes, feeds.outline_attributes),
    origin = excluded.origin,
    subscription = 'subscribed',
    subscription_changed_at = CASE
        WHEN feeds.subscription = 'subscribed' THEN feeds.subscription_changed_at
        ELSE excluded.subscription_changed_at
    END;
