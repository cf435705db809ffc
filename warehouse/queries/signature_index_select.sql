-- Every signature (SQLite) of the articles in article_probe: a seek per probed article through the unique
-- index (CROSS JOIN keeps this order).
SELECT i.article_id, i.minhash
FROM temp.article_probe AS p
CROSS JOIN signature_index AS i
WHERE i.article_id = p.article_id
