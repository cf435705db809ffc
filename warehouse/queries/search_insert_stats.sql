-- How the batch changes the live documents: its documents added, the newest earlier document of each of its
-- articles (now replaced) taken away. Run before search_insert_documents. Parameter: $indexed_at.
WITH lengths AS (
    SELECT doc_id, sum(tf) AS body_terms, sum(title_tf) AS title_terms
    FROM search_batch_postings GROUP BY doc_id
),
added AS (
    SELECT count(*) AS documents, coalesce(sum(l.body_terms), 0) AS body_terms,
        coalesce(sum(l.title_terms), 0) AS title_terms
    FROM search_batch AS b LEFT JOIN lengths AS l USING (doc_id)
),
replaced AS (
    SELECT count(*) AS documents, coalesce(sum(body_terms), 0) AS body_terms,
        coalesce(sum(title_terms), 0) AS title_terms
    FROM (
        SELECT arg_max(body_terms, (indexed_at, doc_id)) AS body_terms,
            arg_max(title_terms, (indexed_at, doc_id)) AS title_terms
        FROM search_documents
        WHERE article_id IN (SELECT article_id FROM search_batch)
        GROUP BY article_id
    )
)
INSERT INTO search_stats
SELECT $indexed_at, a.documents - r.documents, a.body_terms - r.body_terms, a.title_terms - r.title_terms
FROM added AS a, replaced AS r;
