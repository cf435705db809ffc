-- The documents of a query's best-scored ids: their article, dates, and whether the article is canonical (not
-- recorded as a duplicate). Ids are constants, so only the row groups holding them are read (search_documents
-- is sorted by doc_id); as a list they also drop the other rows in the scan. Parameters: {doc_ids} ($d0, $d1,
-- ...), $doc_id_list.
SELECT d.doc_id, d.article_id, d.dated_at, d.first_seen_at, d.indexed_at,
    NOT EXISTS (SELECT 1 FROM duplicates AS x WHERE x.article_id = d.article_id) AS canonical
FROM search_documents AS d
WHERE d.doc_id IN ({doc_ids}) AND list_contains($doc_id_list::UBIGINT[], d.doc_id);
