-- The keys of every stored article, for a warehouse whose articles came without them (`migrate --from` a file
-- older than migration 0017, into an empty lake).
INSERT INTO article_keys (id_key, url_key, text_key)
SELECT md5_number_upper(article_id), md5_number_upper(canonical_url), md5_number_upper(content_hash)
FROM articles;
