-- Signatures and clusters of the candidate articles; {spans} (near_dupes.run_in_spans: ranges of the candidates'
-- dates) bounds the scan.
SELECT s.article_id, s.cluster_id, s.minhash
FROM article_signatures AS s
JOIN candidate_ids AS c ON c.article_id = s.article_id
WHERE {spans};
