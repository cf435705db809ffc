-- LSH band rows of newly signed articles, in date order so that row groups cover narrow date ranges.
INSERT INTO article_bands (band_hash, band, article_id, dated_at)
SELECT band_hash, band, article_id, dated_at
FROM batch_bands
ORDER BY dated_at, article_id, band;
