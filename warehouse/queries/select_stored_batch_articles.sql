-- The batch's article ids, canonical URLs and text hashes that are stored already, each key column read once:
-- load.insert_articles inserts the articles whose id and URL are not stored, and marks exact copies only when a
-- text hash repeats. Read only when select_batch_key_hits found an id or URL key (warehouse/article_keys.py).
SELECT 'article_id' AS key, a.article_id AS value
FROM articles AS a
SEMI JOIN batch_articles AS b ON b.article_id = a.article_id
UNION ALL
SELECT 'canonical_url' AS key, a.canonical_url AS value
FROM articles AS a
SEMI JOIN batch_articles AS b ON b.canonical_url = a.canonical_url
UNION ALL
SELECT DISTINCT 'content_hash' AS key, a.content_hash AS value
FROM articles AS a
SEMI JOIN batch_articles AS b ON b.content_hash = a.content_hash;
