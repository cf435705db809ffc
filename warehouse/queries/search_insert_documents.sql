-- The batch's documents with their lengths in terms, in doc_id order (the table is sorted by doc_id).
-- Parameter: $indexed_at.
INSERT INTO search_documents
SELECT b.doc_id, b.article_id, b.fingerprint, b.dated_at, b.first_seen_at,
    coalesce(l.body_terms, 0)::INTEGER, coalesce(l.title_terms, 0)::INTEGER, $indexed_at
FROM search_batch AS b
LEFT JOIN (
    SELECT doc_id, any_value(body_terms) AS body_terms, any_value(title_terms) AS title_terms
    FROM search_batch_postings GROUP BY doc_id
) AS l USING (doc_id)
ORDER BY b.doc_id;
