-- Every membership row (SQLite) of the articles in article_probe: the clusters each has been in, a seek per
-- probed article through cluster_index_by_article (CROSS JOIN keeps this order).
SELECT i.cluster_id, i.article_id, i.dated_at, i.url
FROM temp.article_probe AS p
CROSS JOIN cluster_index AS i
WHERE i.article_id = p.article_id
