-- The batch's article ids, canonical URLs and text hashes whose key is in article_keys: every stored one, and
-- (rarely) one whose 64-bit key another value shares. Reads three integer columns, not the articles' strings.
WITH batch AS (
    SELECT article_id, canonical_url, content_hash, md5_number_upper(article_id) AS id_key,
        md5_number_upper(canonical_url) AS url_key, md5_number_upper(content_hash) AS text_key
    FROM batch_articles
)
SELECT DISTINCT 'article_id' AS key, b.article_id AS value
FROM article_keys AS k JOIN batch AS b ON b.id_key = k.id_key
UNION ALL
SELECT DISTINCT 'canonical_url' AS key, b.canonical_url AS value
FROM article_keys AS k JOIN batch AS b ON b.url_key = k.url_key
UNION ALL
SELECT DISTINCT 'content_hash' AS key, b.content_hash AS value
FROM article_keys AS k JOIN batch AS b ON b.text_key = k.text_key;
