-- Record the feed's latest update time of entries seen again with a later one.
UPDATE entries SET updated_at = b.updated_at
FROM batch_entries AS b
WHERE entries.feed_url = b.feed_url
  AND entries.guid = b.guid
  AND b.updated_at IS NOT NULL
  AND (entries.updated_at IS NULL OR b.updated_at > entries.updated_at);
