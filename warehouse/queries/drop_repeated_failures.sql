-- Drop this run's failure rows that repeat a failure still open from an earlier run (same item, stage and
-- reason): the ledger keeps one open row per failing item, dated at its first failure.
DELETE FROM failures AS n
WHERE n.run_id = $run_id
  AND EXISTS (
        SELECT 1
        FROM failures AS o
        WHERE o.resolved_at IS NULL
          AND o.run_id <> $run_id
          AND o.stage = n.stage
          AND o.reason = n.reason
          AND coalesce(o.url, o.feed_url || '#' || coalesce(json_extract_string(o.retry, '$.offset'), ''))
            = coalesce(n.url, n.feed_url || '#' || coalesce(json_extract_string(n.retry, '$.offset'), '')));
