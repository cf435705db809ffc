-- Merge small adjacent data files of every table into fewer, larger ones (the old files stay until cleanup).
SELECT schema_name, table_name, files_processed, files_created FROM ducklake_merge_adjacent_files($lake)
