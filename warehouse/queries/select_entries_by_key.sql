-- Recorded feed entries for the registered wanted_entries (feed_url, guid).
SELECT e.feed_url, e.guid, e.link, e.title, e.summary, e.published_at
FROM entries AS e
JOIN wanted_entries AS w USING (feed_url, guid);
