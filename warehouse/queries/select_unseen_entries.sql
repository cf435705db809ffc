-- Entries of this poll that the warehouse has not recorded yet.
SELECT p.feed_url, p.guid
FROM polled_entries AS p
WHERE NOT EXISTS (
    SELECT 1 FROM entries AS e WHERE e.feed_url = p.feed_url AND e.guid = p.guid
);
