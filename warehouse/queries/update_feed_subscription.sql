-- Pause, resume or remove one feed still in the list; counts the rows changed.
UPDATE feeds SET
    subscription = $subscription,
    subscription_changed_at = $changed_at
WHERE feed_url = $feed_url AND subscription <> 'removed';
