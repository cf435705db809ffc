-- Entries whose page's host asked to be left alone (Retry-After): they stay pending until due_at.
UPDATE pending_entries AS p
SET due_at = d.due_at
FROM deferred_entry_keys AS d
WHERE p.feed_url = d.feed_url AND p.guid = d.guid;
