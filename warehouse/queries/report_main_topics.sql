-- Distinct stories per published day, each counted once under its main topic, for the report's stacked chart.
-- The main topic is the best-scored of the story's most specific tags (a parent such as Syria yields to Aleppo),
-- among the $max_topics topics with the most stories; stories without one count as 'other'.
-- Parameters: $topic (topic id: only stories tagged with it, and it is not itself a series; NULL for all).
WITH scope AS (
    SELECT c.article_id, CAST(coalesce(c.published_at, c.first_seen_at) AS DATE) AS day
    FROM canonical_articles AS c
    WHERE $topic IS NULL
       OR EXISTS (SELECT 1 FROM article_topics AS t WHERE t.article_id = c.article_id AND t.topic_id = $topic)
),
tags AS (
    SELECT t.article_id, t.topic_id, t.score, coalesce(tp.parents, []) AS parents
    FROM article_topics AS t
    JOIN scope USING (article_id)
    LEFT JOIN topics AS tp USING (topic_id)
    WHERE $topic IS NULL OR t.topic_id <> $topic
),
specific AS (
    -- tags that no other tag of the same story names as a parent
    SELECT a.*
    FROM tags AS a
    WHERE NOT EXISTS (
        SELECT 1 FROM tags AS b WHERE b.article_id = a.article_id AND list_contains(b.parents, a.topic_id))
),
top_topics AS (
    SELECT topic_id
    FROM specific
    GROUP BY topic_id
    ORDER BY count(DISTINCT article_id) DESC, topic_id
    LIMIT $max_topics
),
main_topic AS (
    SELECT article_id, topic_id
    FROM specific
    JOIN top_topics USING (topic_id)
    QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY score DESC, topic_id) = 1
)
SELECT
    scope.day,
    coalesce(topics.label, main_topic.topic_id, 'other') AS label,
    count(*) AS stories
FROM scope
LEFT JOIN main_topic USING (article_id)
LEFT JOIN topics USING (topic_id)
GROUP BY ALL
ORDER BY scope.day, label;
