-- The id of the lake's latest committed snapshot, as this connection's transaction sees it.
SELECT id FROM ducklake_current_snapshot($lake)
