-- The stored articles behind the band hashes select_near_duplicate_candidates found shared, with their clusters and
-- signatures: one row per (batch article, other article, shared band). Read per span of those dates
-- (near_dupes.run_in_spans); a signature is dated as its bands, so both tables are pruned by the span.
SELECT m.article_id, s.article_id AS other_id, g.cluster_id, g.minhash
FROM shared_bands AS m
JOIN article_bands AS s ON s.band_hash = m.band_hash AND s.dated_at = m.dated_at
JOIN article_signatures AS g ON g.article_id = s.article_id AND g.dated_at = s.dated_at
WHERE s.dated_at BETWEEN $window_start AND $window_end
  AND g.dated_at BETWEEN $window_start AND $window_end
  AND s.article_id <> m.article_id;
