-- The batch's site lines (registered as batch_site_lines by warehouse/site_lines.py), appended as they are.
INSERT INTO site_lines (site, line_hash, article_id, seen_at)
SELECT site, line_hash, article_id, seen_at
FROM batch_site_lines;
