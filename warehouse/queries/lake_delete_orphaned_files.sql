-- Delete files in the data folder that no snapshot knows (left by a writer that died before its commit) and
-- that are older than a time: a younger one may belong to a commit still under way. One row per deleted file.
SELECT path FROM ducklake_delete_orphaned_files($lake, older_than => $older_than)
