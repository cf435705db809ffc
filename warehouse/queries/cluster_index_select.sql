-- Every membership row (SQLite) of the clusters in cluster_probe: a seek per probed cluster (CROSS JOIN keeps
-- this order), never a scan of the whole table.
SELECT i.cluster_id, i.article_id, i.dated_at, i.url
FROM temp.cluster_probe AS p
CROSS JOIN cluster_index AS i
WHERE i.cluster_id = p.cluster_id
