-- Topics by number of distinct stories (canonical articles).
SELECT t.topic_id, coalesce(tp.label, t.topic_id) AS label, count(DISTINCT t.article_id) AS stories
FROM article_topics AS t
JOIN canonical_articles AS c USING (article_id)
LEFT JOIN topics AS tp USING (topic_id)
GROUP BY ALL
ORDER BY stories DESC, t.topic_id
LIMIT ?;
