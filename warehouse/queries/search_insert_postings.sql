-- The batch's postings, in term order (the table is sorted by term).
INSERT INTO search_postings SELECT term, doc_id, tf, title_tf FROM search_batch_postings ORDER BY term, doc_id;
