-- A batch's entries are stored now: they are no longer pending.
DELETE FROM pending_entries AS p
USING batch_entry_keys AS b
WHERE p.feed_url = b.feed_url AND p.guid = b.guid;
