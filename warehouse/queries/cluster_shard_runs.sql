-- Per shard of the scheduled ingest (the run's `shard` parameter): its latest run, and when the latest of its
-- completed runs ended (what the lag is counted from).
SELECT
    json_extract_string(params, '$.shard') AS shard,
    run_id,
    status,
    started_at,
    finished_at,
    TRY_CAST(json_extract_string(counts, '$.pages_fetched') AS BIGINT) AS pages,
    CAST(failures AS VARCHAR) AS failures,
    max(finished_at) FILTER (WHERE status = 'completed') OVER (PARTITION BY json_extract_string(params, '$.shard')) AS completed_at
FROM runs
WHERE flow = 'ingest' AND json_extract_string(params, '$.shard') IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY json_extract_string(params, '$.shard') ORDER BY started_at DESC, run_id) = 1
ORDER BY shard;
