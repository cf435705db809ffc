-- The data folder of the lake in use (its raw page files live beside it).
SELECT data_path FROM ducklake_settings(current_database());
