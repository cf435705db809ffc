-- Documents readers leave out: the earlier documents of the articles the batch indexes again, and any
-- document indexed since $recent (a day before the newest batch) that a newer one of its article replaced
-- unseen (two indexings of one article at once: neither saw the other). Parameters: $indexed_at, $recent.
WITH recent AS (
    SELECT d.doc_id, d.article_id, d.indexed_at
    FROM search_documents AS d ANTI JOIN search_replaced AS r USING (doc_id)
    WHERE d.indexed_at >= $recent
),
unseen AS (
    SELECT doc_id, article_id FROM recent
    QUALIFY (indexed_at, doc_id) < max((indexed_at, doc_id)) OVER (PARTITION BY article_id)
)
INSERT INTO search_replaced
SELECT e.doc_id, e.article_id, $indexed_at
FROM search_batch_earlier AS e
WHERE NOT e.replaced AND e.article_id IN (SELECT article_id FROM search_batch)
UNION
SELECT u.doc_id, u.article_id, $indexed_at
FROM unseen AS u
WHERE u.article_id NOT IN (SELECT article_id FROM search_batch);
