-- Delete the data files no remaining snapshot needs; one row per deleted file.
SELECT path FROM ducklake_cleanup_old_files($lake, cleanup_all => true)
