-- Register the sources file's feeds; a feed already known keeps its polling state. A feed the file owns
-- (origin 'sources') takes the file's name and language; one added or imported from the command line, or edited
-- there, keeps its own (docs/fetching.md, "Building the feed list").
-- Rows whose name and language did not change are left alone, so that a re-run writes (and checkpoints) nothing.
INSERT INTO feeds (feed_url, name, language, source, added_at, origin, subscription)
SELECT feed_url, name, language, source, added_at, 'sources', 'subscribed' FROM configured_feeds
ON CONFLICT (feed_url) DO UPDATE SET name = excluded.name, language = excluded.language
WHERE feeds.origin = 'sources'
    AND (feeds.name IS DISTINCT FROM excluded.name OR feeds.language IS DISTINCT FROM excluded.language);
