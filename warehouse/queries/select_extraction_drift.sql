-- Per page host: pages fetched and pages empty or too short in run $run_id, and the same over the other runs
-- since $since (the trailing baseline window).
WITH pages AS (
    SELECT lower(regexp_extract(url, '://([^/?#]+)', 1)) AS source, run_id = $run_id AS this_run
    FROM fetches
    WHERE kind IN ('page', 'warc') AND status BETWEEN 200 AND 299 AND (run_id = $run_id OR fetched_at >= $since)
),
failed AS (
    SELECT lower(regexp_extract(url, '://([^/?#]+)', 1)) AS source, run_id = $run_id AS this_run
    FROM failures
    WHERE stage = 'extract' AND reason IN ('empty_extraction', 'too_short')
      AND (run_id = $run_id OR failed_at >= $since)
),
page_counts AS (
    SELECT source, count(*) FILTER (WHERE this_run) AS pages, count(*) FILTER (WHERE NOT this_run) AS baseline_pages
    FROM pages
    GROUP BY source
),
failed_counts AS (
    SELECT source, count(*) FILTER (WHERE this_run) AS failed, count(*) FILTER (WHERE NOT this_run) AS baseline_failed
    FROM failed
    GROUP BY source
)
SELECT p.source, p.pages, coalesce(f.failed, 0) AS failed, p.baseline_pages, coalesce(f.baseline_failed, 0) AS baseline_failed
FROM page_counts AS p
LEFT JOIN failed_counts AS f USING (source)
WHERE p.pages > 0
ORDER BY p.source;
