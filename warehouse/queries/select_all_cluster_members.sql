-- Every stored signature's cluster, article, date and URL, in cluster order (the band index file's cluster
-- table is built from them in B-tree order).
SELECT s.cluster_id, s.article_id, s.dated_at, a.url
FROM article_signatures AS s
LEFT JOIN articles AS a USING (article_id)
ORDER BY s.cluster_id, s.article_id, s.dated_at;
