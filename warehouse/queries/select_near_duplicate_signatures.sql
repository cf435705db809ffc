-- Signatures, clusters and dates of the candidate articles, those dated inside $window_start..$window_end (one
-- span of the candidates' dates: batch_queries.run_in_spans).
SELECT s.article_id, s.cluster_id, s.minhash, s.dated_at
FROM article_signatures AS s
JOIN candidate_ids AS c ON c.article_id = s.article_id
WHERE s.dated_at BETWEEN $window_start AND $window_end;
