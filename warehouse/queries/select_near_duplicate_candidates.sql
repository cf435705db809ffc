-- Pairs of (batch article, stored article) sharing an LSH band hash, dated within the window of each other, with
-- the stored article's date. $window_start/$window_end bound the scan (batch_queries.run_in_spans runs it once
-- per span of the batch's dates), so zone maps skip the row groups of other dates and the scan grows with the
-- articles inside the windows, not with the warehouse.
SELECT DISTINCT b.article_id, s.article_id AS other_id, s.dated_at
FROM batch_bands AS b
JOIN article_bands AS s ON s.band_hash = b.band_hash
WHERE s.dated_at BETWEEN $window_start AND $window_end
  AND s.dated_at BETWEEN b.dated_at - $window AND b.dated_at + $window
  AND s.article_id <> b.article_id
ORDER BY b.article_id, other_id;
