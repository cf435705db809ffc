-- Pairs of (batch article, stored article) sharing an LSH band hash, dated within the window of each other, with
-- the stored article's date: the band index's rows for the batch's hashes (band_matches) joined to the batch.
SELECT DISTINCT b.article_id, s.article_id AS other_id, s.dated_at
FROM batch_bands AS b
JOIN band_matches AS s ON s.band_hash = b.band_hash
WHERE s.dated_at BETWEEN b.dated_at - $window AND b.dated_at + $window
  AND s.article_id <> b.article_id
ORDER BY b.article_id, other_id;
