-- Stored raw pages of the registered wanted_urls, to rebuild articles without fetching again.
SELECT r.url, r.final_url, r.status, r.content_type, r.fetched_at, r.body_compressed, r.body_codec,
    r.body_file, r.body_bytes, r.body_hash
FROM raw_pages AS r
JOIN wanted_urls AS w USING (url);
