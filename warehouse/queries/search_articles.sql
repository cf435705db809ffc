-- Canonical articles ranked by BM25 over title + text (title matches count again), optionally by topic and date.
-- Parameters: $query, $topic (topic id, NULL for all), $since (DATE, NULL for all), $limit.
WITH scored AS (
    SELECT
        s.article_id,
        fts_main_article_search.match_bm25(s.article_id, $query) AS body_score,
        fts_main_article_search.match_bm25(s.article_id, $query, fields := 'title') AS title_score
    FROM article_search AS s
)
SELECT
    c.article_id,
    round(scored.body_score + coalesce(scored.title_score, 0), 4) AS score,
    c.title,
    c.source,
    c.published_at,
    c.canonical_url,
    c.text
FROM scored
JOIN canonical_articles AS c USING (article_id)
WHERE scored.body_score IS NOT NULL
  AND ($since IS NULL OR coalesce(c.published_at, c.first_seen_at) >= $since)
  AND ($topic IS NULL OR EXISTS (
        SELECT 1 FROM article_topics AS t WHERE t.article_id = c.article_id AND t.topic_id = $topic))
ORDER BY score DESC, c.published_at, c.article_id
LIMIT $limit;
