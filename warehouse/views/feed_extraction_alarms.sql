-- Feeds whose site the end-of-run drift check flagged in the last 14 days (transforms/drift.py), with the
-- latest alarm: its time, the run's pages and their empty-or-short share against the baseline's.
CREATE OR REPLACE VIEW feed_extraction_alarms AS
SELECT
    f.feed_url,
    a.source,                                              -- page host flagged (the feed's own host)
    a.flagged_at,                                          -- when the run that raised it ended, UTC
    a.pages,                                               -- pages of the source in that run
    a.failed_share,                                        -- share of them empty or too short
    a.baseline_share                                       -- the same share over the 14 days before
FROM feeds AS f
JOIN extraction_alarms AS a ON a.source = f.source
WHERE a.flagged_at >= CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP) - INTERVAL 14 DAY
QUALIFY row_number() OVER (PARTITION BY f.feed_url ORDER BY a.flagged_at DESC) = 1;
