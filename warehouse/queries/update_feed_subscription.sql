-- Pause, resume or remove one feed still in the list; returns the feed when there was one.
UPDATE feeds SET
    subscription = $subscription,
    subscription_changed_at = $changed_at
WHERE feed_url = $feed_url AND subscription <> 'removed'
RETURNING feed_url;
