-- Take tags off one feed (`newsdesk feeds set URL --untag T`).
DELETE FROM feed_tags
WHERE feed_url = $feed_url AND list_contains($tags, tag);
