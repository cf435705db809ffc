-- Outlets by distinct stories, with the repeats (copies of stories already held) they also carried.
-- Parameters: $topic (topic id, NULL for all), $limit.
WITH scope AS (
    SELECT a.source, d.article_id IS NOT NULL AS is_repeat
    FROM articles AS a
    LEFT JOIN duplicates AS d USING (article_id)
    WHERE $topic IS NULL
       OR EXISTS (SELECT 1 FROM article_topics AS t WHERE t.article_id = a.article_id AND t.topic_id = $topic)
)
SELECT
    source,
    count(*) FILTER (WHERE NOT is_repeat) AS stories,
    count(*) FILTER (WHERE is_repeat) AS repeats
FROM scope
GROUP BY source
ORDER BY stories DESC, repeats DESC, source
LIMIT $limit;
