-- Register configured feeds; a feed already known keeps its polling state but takes the new name and language.
-- Rows whose name and language did not change are left alone, so that a re-run writes (and checkpoints) nothing.
INSERT INTO feeds (feed_url, name, language, source, added_at)
SELECT feed_url, name, language, source, added_at FROM configured_feeds
ON CONFLICT (feed_url) DO UPDATE SET name = excluded.name, language = excluded.language
WHERE feeds.name IS DISTINCT FROM excluded.name OR feeds.language IS DISTINCT FROM excluded.language;
