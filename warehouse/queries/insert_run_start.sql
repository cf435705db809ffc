-- A run started (again, for a retried flow run: the newest row wins in the `runs` view).
INSERT INTO run_log (run_id, flow, params, started_at, status, logged_at)
VALUES ($run_id, $flow, $params, $now, 'running', $now);
