-- The clusters and dates of articles about to be signed again.
SELECT s.article_id, s.cluster_id, s.dated_at
FROM article_signatures AS s
JOIN resigned_articles AS r USING (article_id);
