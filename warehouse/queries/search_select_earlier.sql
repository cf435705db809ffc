-- The documents already indexed for the articles of search_batch_rows (one scan of search_documents), with
-- whether a later indexing has recorded them as replaced.
SELECT d.doc_id, d.article_id, d.fingerprint, d.indexed_at, d.body_terms, d.title_terms,
    d.doc_id IN (SELECT doc_id FROM search_replaced) AS replaced
FROM search_documents AS d
WHERE d.article_id IN (SELECT article_id FROM search_batch_rows);
