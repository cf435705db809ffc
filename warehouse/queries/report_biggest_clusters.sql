-- The stories carried by the most pages: each canonical article with the pages recorded as repeating it.
-- Parameters: $topic (topic id, NULL for all), $limit.
WITH members AS (
    SELECT
        d.duplicate_of AS article_id,
        coalesce(a.source, regexp_extract(d.url, '//([^/:]+)', 1)) AS source
    FROM duplicates AS d
    LEFT JOIN articles AS a ON a.article_id = d.article_id
)
SELECT
    c.article_id,
    c.title,
    c.source,
    c.canonical_url,
    CAST(coalesce(c.published_at, c.first_seen_at) AS DATE) AS day,
    1 + count(*) AS pages,                                              -- the story and its repeats
    count(DISTINCT m.source) + (count(*) FILTER (WHERE m.source = c.source) = 0)::INTEGER AS outlets
FROM canonical_articles AS c
JOIN members AS m USING (article_id)
WHERE $topic IS NULL
   OR EXISTS (SELECT 1 FROM article_topics AS t WHERE t.article_id = c.article_id AND t.topic_id = $topic)
GROUP BY ALL
ORDER BY pages DESC, outlets DESC, c.article_id
LIMIT $limit;
