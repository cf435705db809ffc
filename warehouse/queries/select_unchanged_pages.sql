-- URLs of the batch's raw pages already stored with the same body: storing them again would change nothing.
SELECT DISTINCT b.url
FROM batch_page_keys AS b
JOIN raw_pages AS r ON r.url = b.url AND r.body_hash = b.body_hash;
