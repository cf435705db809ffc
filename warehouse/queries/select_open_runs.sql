-- Runs whose latest row still says running, other than the caller's own ($run_id).
SELECT run_id
FROM runs
WHERE status = 'running' AND run_id <> $run_id
ORDER BY started_at;
