-- Raw page bodies move out of the database into Parquet files beside it (warehouse/page_files.py): a row names
-- its file in body_file and leaves body_compressed empty. Rows stored before keep their body here (body_file
-- NULL); readers accept both.
ALTER TABLE raw_pages ADD COLUMN body_file VARCHAR;
ALTER TABLE raw_pages ALTER COLUMN body_compressed DROP NOT NULL;
