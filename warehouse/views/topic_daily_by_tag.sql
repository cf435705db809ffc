-- topic_daily for the stories of tagged feeds: one row per feed tag, topic and published day. A story counts
-- under every tag of every feed that linked it (articles.feed_url and its article_refs); filter with
-- `WHERE tag = 'syria-desk'`.
CREATE OR REPLACE VIEW topic_daily_by_tag AS
WITH feed_articles AS (
    SELECT article_id, feed_url FROM articles WHERE feed_url IS NOT NULL
    UNION
    SELECT article_id, feed_url FROM article_refs
),
tagged AS (
    SELECT DISTINCT
        t.tag,
        CAST(coalesce(c.published_at, c.first_seen_at) AS DATE) AS day,
        topics_of.topic_id,
        c.article_id
    FROM canonical_articles AS c
    JOIN feed_articles AS f USING (article_id)
    JOIN feed_tags AS t ON t.feed_url = f.feed_url
    JOIN article_topics AS topics_of USING (article_id)
)
SELECT
    tagged.tag,                                               -- feed tag
    tagged.day,                                               -- published date (first seen when undated), UTC
    tagged.topic_id,
    topics.label,
    topics.kind,
    count(DISTINCT tagged.article_id) AS stories              -- distinct stories (canonical articles)
FROM tagged
LEFT JOIN topics USING (topic_id)
GROUP BY ALL;
