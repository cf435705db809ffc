-- The batch's articles that have no signature stored yet (those insert_near_duplicate_signatures stores).
SELECT DISTINCT b.article_id
FROM batch_signatures AS b
ANTI JOIN article_signatures AS s ON s.article_id = b.article_id;
