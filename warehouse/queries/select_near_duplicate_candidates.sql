-- Pairs of (batch article, stored article) sharing an LSH band hash, dated within the window of each other, with
-- the stored article's date. {spans} (near_dupes.run_in_spans: the batch's dates widened by the window, as
-- constant ranges) bounds the scan, so zone maps skip the row groups of other dates and the scan grows with the
-- articles inside the windows, not with the warehouse.
SELECT DISTINCT b.article_id, s.article_id AS other_id, s.dated_at
FROM batch_bands AS b
JOIN article_bands AS s ON s.band_hash = b.band_hash
WHERE {spans}
  AND s.dated_at BETWEEN b.dated_at - $window AND b.dated_at + $window
  AND s.article_id <> b.article_id
ORDER BY b.article_id, other_id;
