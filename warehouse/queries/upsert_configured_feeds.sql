-- Register the sources file's feeds; a feed already known keeps its polling state. A feed the file owns
-- (origin 'sources') takes the file's name and language; one added or imported from the command line, or edited
-- there, keeps its own (docs/fetching.md, "Building the feed list").
-- Rows whose name and language did not change are left alone, so that a re-run writes nothing.
MERGE INTO feeds
USING (SELECT DISTINCT ON (feed_url) * FROM configured_feeds) AS c
ON feeds.feed_url = c.feed_url
WHEN MATCHED AND feeds.origin = 'sources'
    AND (feeds.name IS DISTINCT FROM c.name OR feeds.language IS DISTINCT FROM c.language)
    THEN UPDATE SET name = c.name, language = c.language
WHEN NOT MATCHED THEN INSERT (feed_url, name, language, source, added_at, origin, subscription)
    VALUES (c.feed_url, c.name, c.language, c.source, c.added_at, 'sources', 'subscribed');
