-- Schema version 17: a narrow key table beside `articles`, so that a batch's load finds which of its article ids,
-- canonical URLs and text hashes may be stored by scanning three integer columns, not 1M-row string columns of
-- random hashes (warehouse/article_keys.py, docs/lake.md). Each key is md5_number_upper() of the value (md5 is
-- the same in every DuckDB version, unlike hash()). Append-only and a superset: every writer of `articles` adds
-- the keys of the rows it inserts or whose text it changes, in the same transaction; a key left behind by a
-- changed text, or two values sharing a key, only sends the load to read the exact values.
CREATE TABLE article_keys (
    id_key   UBIGINT NOT NULL,   -- md5_number_upper(article_id)
    url_key  UBIGINT NOT NULL,   -- md5_number_upper(canonical_url)
    text_key UBIGINT NOT NULL    -- md5_number_upper(content_hash)
);

INSERT INTO article_keys
SELECT md5_number_upper(article_id), md5_number_upper(canonical_url), md5_number_upper(content_hash)
FROM articles;
