-- Failures not resolved yet, oldest first, optionally only those recorded since $since.
SELECT run_id, stage, url, feed_url, reason, detail, CAST(retry AS VARCHAR) AS retry, failed_at
FROM failures
WHERE resolved_at IS NULL
  AND ($since IS NULL OR failed_at >= $since)
ORDER BY failed_at, stage, url;
