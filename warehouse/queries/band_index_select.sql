-- The band index rows (SQLite) of the hashes in band_probe, dated within ?..? (microseconds since 1970).
-- CROSS JOIN keeps this order (SQLite's rule): a seek per probed hash, never a scan of the whole index.
SELECT i.band_hash, i.article_id, i.dated_at
FROM temp.band_probe AS p
CROSS JOIN band_index AS i
WHERE i.band_hash = p.band_hash
  AND i.dated_at BETWEEN ? AND ?
