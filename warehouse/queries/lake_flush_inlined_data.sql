-- Write the rows kept inline in the catalog (small inserts) out to Parquet files: one row per table.
SELECT schema_name, table_name, rows_flushed FROM ducklake_flush_inlined_data($lake)
