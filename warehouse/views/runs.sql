-- One row per flow run: the latest row of the append-only run_log (started, then finished).
CREATE OR REPLACE VIEW runs AS
SELECT run_id, flow, params, started_at, finished_at, status, counts, failures, lake_snapshot
FROM run_log
QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY logged_at DESC, finished_at DESC NULLS LAST) = 1;
