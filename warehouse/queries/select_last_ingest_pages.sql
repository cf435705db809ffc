-- Pages fetched by the warehouse's last completed ingest run (no row: it has had none).
SELECT coalesce(CAST(json_extract(counts, '$.pages_fetched') AS BIGINT), 0) AS pages_fetched
FROM runs
WHERE flow = 'ingest' AND status = 'completed'
ORDER BY finished_at DESC
LIMIT 1;
