-- Every stored band row, in hash order (the band index is built from them in B-tree order).
SELECT band_hash, article_id, dated_at
FROM article_bands
ORDER BY band_hash, article_id;
