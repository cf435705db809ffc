-- The newest snapshot committed at or before a moment (naive UTC), among those the lake still keeps.
SELECT max(snapshot_id)
FROM ducklake_snapshots($lake)
WHERE snapshot_time <= CAST($moment AS TIMESTAMP) AT TIME ZONE 'UTC';
