-- Close the open failures of the items a replay retried, unless this run failed them again the same way
-- (succeeded, or failed differently: the newer row carries the item's current state).
-- An item is its URL, or for URL-less rows (a damaged WARC record) its archive and offset.
UPDATE failures AS o
SET resolved_at = $resolved_at
WHERE o.resolved_at IS NULL
  AND o.run_id <> $run_id
  AND coalesce(o.url, o.feed_url || '#' || coalesce(json_extract_string(o.retry, '$.offset'), ''))
      IN (SELECT item_key FROM retried_items)
  AND NOT EXISTS (
        SELECT 1
        FROM failures AS n
        WHERE n.run_id = $run_id
          AND n.stage = o.stage
          AND n.reason = o.reason
          AND coalesce(n.url, n.feed_url || '#' || coalesce(json_extract_string(n.retry, '$.offset'), ''))
            = coalesce(o.url, o.feed_url || '#' || coalesce(json_extract_string(o.retry, '$.offset'), '')));
