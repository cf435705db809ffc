-- The members of the clusters a batch touches, with what choosing the canonical member needs; {spans}
-- (near_dupes.run_in_spans: ranges of their dates) bounds the scan.
SELECT
    s.article_id, s.cluster_id, s.dated_at, s.published_at, s.text_chars, s.content_hash, s.minhash
FROM article_signatures AS s
JOIN cluster_members AS m ON m.article_id = s.article_id
WHERE {spans};
