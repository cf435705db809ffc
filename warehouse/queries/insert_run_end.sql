-- A run ended: its latest row again, with how it ended and the lake snapshot holding its writes.
INSERT INTO run_log
SELECT run_id, flow, params, started_at, $now, $status, $counts, $failures, $snapshot, $now
FROM runs
WHERE run_id = $run_id;
