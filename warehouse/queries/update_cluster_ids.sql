-- New cluster ids of members whose group changed (merged, split or joined), those dated inside
-- $window_start..$window_end (batch_queries.run_in_spans runs it once per span of their dates).
UPDATE article_signatures SET cluster_id = c.cluster_id
FROM cluster_changes AS c
WHERE article_signatures.article_id = c.article_id
  AND article_signatures.dated_at BETWEEN $window_start AND $window_end;
