-- The keys of articles a writer inserted or whose text it changed (registered as keyed_articles), appended to
-- article_keys in the writer's transaction (migration 0017 says why).
INSERT INTO article_keys (id_key, url_key, text_key)
SELECT md5_number_upper(article_id), md5_number_upper(canonical_url), md5_number_upper(content_hash)
FROM keyed_articles;
