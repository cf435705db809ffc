-- Pairs of (batch article, stored article) sharing an LSH band hash, dated within the window of each other.
-- $window_start/$window_end bound the whole batch's window, so zone maps skip the row groups of other dates
-- and the scan grows with the articles inside the window, not with the warehouse.
SELECT DISTINCT b.article_id, s.article_id AS other_id
FROM batch_bands AS b
JOIN article_bands AS s ON s.band_hash = b.band_hash
WHERE s.dated_at BETWEEN $window_start AND $window_end
  AND s.dated_at BETWEEN b.dated_at - $window AND b.dated_at + $window
  AND s.article_id <> b.article_id
ORDER BY b.article_id, other_id;
