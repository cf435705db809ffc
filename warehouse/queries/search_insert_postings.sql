-- The batch's postings with their documents' lengths, in term order (the table is sorted by term).
INSERT INTO search_postings
SELECT term, doc_id, tf, title_tf, body_terms, title_terms FROM search_batch_postings ORDER BY term, doc_id;
