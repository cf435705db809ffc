-- Ids and dates of every member of the clusters a batch touches (near_dupes.load_members then reads their
-- signatures by date span).
SELECT s.article_id, s.dated_at
FROM article_signatures AS s
JOIN touched_clusters AS t ON t.cluster_id = s.cluster_id;
