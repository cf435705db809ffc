-- The articles of the ranked documents in search_top_docs (doc_id), each with whether it is shown: canonical,
-- and its article's newest document. A document is left out of search_replaced only by an indexing that did
-- not see it (two at once), and the next one repairs that (search_insert_replaced): only the documents indexed
-- since $recent (a day before the newest batch) are compared. Parameter: $recent (TIMESTAMP).
WITH found AS (
    SELECT doc_id, article_id, dated_at, first_seen_at, indexed_at
    FROM search_documents WHERE doc_id IN (SELECT doc_id FROM search_top_docs)
),
newer AS (
    SELECT DISTINCT f.doc_id
    FROM search_documents AS d JOIN found AS f
        ON d.article_id = f.article_id AND (d.indexed_at, d.doc_id) > (f.indexed_at, f.doc_id)
    WHERE d.indexed_at >= $recent
),
canonical AS (
    SELECT DISTINCT article_id FROM canonical_articles
    WHERE first_seen_at IN (SELECT first_seen_at FROM found) AND article_id IN (SELECT article_id FROM found)
)
SELECT f.doc_id, f.article_id, f.first_seen_at, f.dated_at,
    f.doc_id NOT IN (SELECT doc_id FROM newer) AND f.article_id IN (SELECT article_id FROM canonical) AS shown
FROM found AS f;
