-- The batch's article ids and canonical URLs that are stored already (load.insert_articles inserts the others),
-- each key column read once, as the anti-joins of an INSERT would.
SELECT 'article_id' AS key, a.article_id AS value
FROM articles AS a
SEMI JOIN batch_articles AS b ON b.article_id = a.article_id
UNION ALL
SELECT 'canonical_url' AS key, a.canonical_url AS value
FROM articles AS a
SEMI JOIN batch_articles AS b ON b.canonical_url = a.canonical_url;
