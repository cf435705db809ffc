-- The batch's documents with their lengths in terms. Parameter: $indexed_at.
INSERT INTO search_documents
SELECT b.doc_id, b.article_id, b.fingerprint, b.dated_at, b.first_seen_at,
    coalesce(l.body_terms, 0)::INTEGER, coalesce(l.title_terms, 0)::INTEGER, $indexed_at
FROM search_batch AS b
LEFT JOIN (
    SELECT doc_id, sum(tf) AS body_terms, sum(title_tf) AS title_terms FROM search_batch_postings GROUP BY doc_id
) AS l USING (doc_id);
