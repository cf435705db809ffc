-- Canonical articles ranked by BM25 over title + text, optionally by topic and date.
-- Stories containing every query word come first (as with an implicit AND); within each group, the BM25 score
-- over title and text plus $title_weight times the BM25 score over the title alone.
-- Parameters: $query, $title_weight, $topic (topic id, NULL for all), $since (TIMESTAMP, NULL for all), $limit.
WITH scored AS (
    SELECT
        s.article_id,
        fts_main_article_search.match_bm25(s.article_id, $query) AS body_score,
        fts_main_article_search.match_bm25(s.article_id, $query, fields := 'title') AS title_score,
        fts_main_article_search.match_bm25(s.article_id, $query, conjunctive := 1) IS NOT NULL AS has_all_words
    FROM article_search AS s
)
SELECT
    c.article_id,
    round(scored.body_score + $title_weight * coalesce(scored.title_score, 0), 4) AS score,
    scored.has_all_words,
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
ORDER BY scored.has_all_words DESC, score DESC, c.published_at, c.article_id
LIMIT $limit;
