-- Distinct stories (canonical articles) per topic and published day, parents included through the hierarchy.
CREATE OR REPLACE VIEW topic_daily AS
WITH tagged AS (
    SELECT
        CAST(coalesce(c.published_at, c.first_seen_at) AS DATE) AS day,
        t.topic_id,
        c.article_id
    FROM canonical_articles AS c
    JOIN article_topics AS t USING (article_id)
)
SELECT
    tagged.day,
    tagged.topic_id,
    topics.label,
    topics.kind,
    count(DISTINCT tagged.article_id) AS stories
FROM tagged
LEFT JOIN topics USING (topic_id)
GROUP BY ALL;
