-- Raw pages are compressed with zstd from now on (a third of zlib's CPU for a smaller body); the column that
-- held zlib bytes is renamed for what it holds, and each row names its codec. Rows stored before keep their
-- zlib bytes, marked 'zlib'; readers accept both (transforms/page_bodies.py). New rows must name theirs.
ALTER TABLE raw_pages RENAME COLUMN body_zlib TO body_compressed;
ALTER TABLE raw_pages ADD COLUMN body_codec VARCHAR DEFAULT 'zlib';
ALTER TABLE raw_pages ALTER COLUMN body_codec SET NOT NULL;
ALTER TABLE raw_pages ALTER COLUMN body_codec DROP DEFAULT;
