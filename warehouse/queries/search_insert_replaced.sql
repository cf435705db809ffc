-- The earlier live documents of the batch's articles, replaced by the batch's. Parameter: $indexed_at.
INSERT INTO search_replaced
SELECT doc_id, $indexed_at FROM (SELECT unnest(earlier_ids) AS doc_id FROM search_batch);
