-- Pairs of (batch article, stored article) behind the shared band hashes select_near_duplicate_candidates found,
-- with the stored article's date; read per span of those dates (near_dupes.run_in_spans).
SELECT DISTINCT m.article_id, s.article_id AS other_id, s.dated_at
FROM shared_bands AS m
JOIN article_bands AS s ON s.band_hash = m.band_hash AND s.dated_at = m.dated_at
WHERE s.dated_at BETWEEN $window_start AND $window_end
  AND s.article_id <> m.article_id
ORDER BY m.article_id, other_id;
