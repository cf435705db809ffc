-- Articles built from raw pages fetched in [$day_start, $day_end).
SELECT DISTINCT a.article_id
FROM raw_pages AS r
JOIN articles AS a ON a.url = r.url
WHERE r.fetched_at >= $day_start
  AND r.fetched_at < $day_end
ORDER BY a.article_id;
