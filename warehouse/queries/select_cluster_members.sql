-- The members of the clusters a batch touches dated inside $window_start..$window_end (one span of their dates:
-- batch_queries.run_in_spans), with what choosing the canonical member needs.
SELECT
    s.article_id, s.cluster_id, s.dated_at, s.published_at, s.text_chars, s.content_hash, s.minhash
FROM article_signatures AS s
JOIN cluster_members AS m ON m.article_id = s.article_id
WHERE s.dated_at BETWEEN $window_start AND $window_end;
