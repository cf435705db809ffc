-- Forget the snapshots older than a time (the latest one is always kept); one row per expired snapshot.
SELECT snapshot_id FROM ducklake_expire_snapshots($lake, older_than => $older_than)
