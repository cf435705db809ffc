-- When a single-file warehouse with this digest was moved into the lake, if it was (the first time).
SELECT min(moved_at) FROM moved_warehouses WHERE source_digest = $digest;
