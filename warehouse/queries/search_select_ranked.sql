-- The best `$limit` canonical articles for a query (see search_ranked in search_macros.sql), with when each
-- was first seen (what finds its row in articles fast). Parameters: $query, $topic (topic id or NULL), $since
-- (TIMESTAMP or NULL), $title_weight, $limit.
SELECT article_id, score, has_all_words, first_seen_at
FROM search_ranked($query, topic := $topic, since := $since, title_weight := $title_weight)
ORDER BY has_all_words DESC, score DESC, dated_at, article_id
LIMIT $limit;
