-- The latest drift alarm of each page host raised since $since (see extraction_alarms, migration 0009).
SELECT source, flagged_at, pages, failed_share, baseline_share
FROM extraction_alarms
WHERE flagged_at >= $since
QUALIFY row_number() OVER (PARTITION BY source ORDER BY flagged_at DESC) = 1
ORDER BY source;
