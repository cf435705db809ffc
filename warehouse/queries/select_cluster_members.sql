-- Every member of the clusters a batch touches, with what choosing the canonical member needs.
SELECT
    s.article_id, s.cluster_id, s.dated_at, s.published_at, s.text_chars, s.content_hash, s.minhash
FROM article_signatures AS s
JOIN touched_clusters AS t ON t.cluster_id = s.cluster_id
ORDER BY s.article_id;
