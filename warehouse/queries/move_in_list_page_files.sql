-- The page files the old warehouse's raw_pages rows name (relative to its pages folder).
SELECT DISTINCT body_file FROM moving_from.raw_pages WHERE body_file IS NOT NULL ORDER BY body_file;
