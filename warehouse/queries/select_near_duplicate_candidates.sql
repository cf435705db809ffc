-- The band hashes and dates a batch article shares with another stored article dated within the window of it.
-- $window_start/$window_end bound the scan (near_dupes.run_in_spans runs it once per span of the batch's dates), so
-- zone maps skip the row groups of other dates. Only band_hash and dated_at are read: the ids of the few matching
-- rows are read by select_near_duplicate_band_owners. The batch's own band rows (stored in this transaction) are
-- subtracted, so an article sharing bands only with itself gives no row.
WITH shared AS (
    SELECT b.article_id, s.band_hash, s.dated_at, count(*) AS found
    FROM batch_bands AS b
    JOIN article_bands AS s ON s.band_hash = b.band_hash
    WHERE s.dated_at BETWEEN $window_start AND $window_end
      AND s.dated_at BETWEEN b.dated_at - $window AND b.dated_at + $window
    GROUP BY ALL
),
own AS (
    SELECT article_id, band_hash, dated_at, count(*) AS found
    FROM batch_bands
    GROUP BY ALL
)
SELECT s.article_id, s.band_hash, s.dated_at
FROM shared AS s
LEFT JOIN own AS o USING (article_id, band_hash, dated_at)
WHERE s.found > coalesce(o.found, 0)
ORDER BY s.article_id, s.band_hash, s.dated_at;
