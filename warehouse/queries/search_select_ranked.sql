-- The best `$limit` canonical articles for a query (see search_ranked in search_macros.sql).
-- Parameters: $query, $topic (topic id or NULL), $since (TIMESTAMP or NULL), $title_weight, $limit.
SELECT article_id, score, has_all_words
FROM search_ranked($query, topic := $topic, since := $since, title_weight := $title_weight)
ORDER BY has_all_words DESC, score DESC, dated_at, article_id
LIMIT $limit;
