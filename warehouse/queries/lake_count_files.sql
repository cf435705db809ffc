-- The lake's Parquet files (data and deletion files): how many the latest snapshot reads, and how many the
-- catalog still keeps, for older snapshots or waiting for cleanup, with their bytes (a file waiting for cleanup
-- no longer has its size in the catalog).
WITH files AS (
    SELECT end_snapshot, file_size_bytes
    FROM query_table('__ducklake_metadata_' || $lake || '.ducklake_data_file')
    UNION ALL
    SELECT end_snapshot, file_size_bytes
    FROM query_table('__ducklake_metadata_' || $lake || '.ducklake_delete_file')
    UNION ALL
    SELECT -1, 0
    FROM query_table('__ducklake_metadata_' || $lake || '.ducklake_files_scheduled_for_deletion')
)
SELECT
    count(*) FILTER (WHERE end_snapshot IS NULL) AS live_files,
    count(*) AS stored_files,
    coalesce(sum(file_size_bytes), 0) AS stored_bytes
FROM files
