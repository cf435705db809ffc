-- Feeds added (`newsdesk feeds add`) or imported (`feeds import`): new ones are inserted; a known one keeps its
-- polling state, takes the values given (those not given stay), becomes owned by the command line and is
-- subscribed again if it was paused or removed.
MERGE INTO feeds
USING (SELECT DISTINCT ON (feed_url) * FROM subscribed_feeds) AS s
ON feeds.feed_url = s.feed_url
WHEN MATCHED THEN UPDATE SET
    name = coalesce(s.name, feeds.name),
    language = coalesce(s.language, feeds.language),
    html_url = coalesce(s.html_url, feeds.html_url),
    outline_attributes = coalesce(s.outline_attributes, feeds.outline_attributes),
    origin = s.origin,
    subscription = 'subscribed',
    subscription_changed_at = CASE
        WHEN feeds.subscription = 'subscribed' THEN feeds.subscription_changed_at
        ELSE s.added_at
    END
WHEN NOT MATCHED THEN INSERT (
    feed_url, name, language, source, html_url, outline_attributes, origin, subscription,
    subscription_changed_at, added_at
) VALUES (
    s.feed_url, s.name, s.language, s.source, s.html_url, s.outline_attributes, s.origin, 'subscribed',
    s.added_at, s.added_at
);
