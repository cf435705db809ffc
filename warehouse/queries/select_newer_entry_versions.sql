-- Polled entries already stored whose feed now announces a later update than the one recorded (an entry
-- stored without one counts as updated when first seen).
SELECT p.feed_url, p.guid
FROM polled_versions AS p
JOIN entries AS e ON e.feed_url = p.feed_url AND e.guid = p.guid
WHERE p.updated_at > coalesce(e.updated_at, e.first_seen_at);
