-- How the batch changes the live documents: its documents added, its articles' earlier live documents (now
-- replaced) taken away. Reads only the batch (search_batch, search_batch_postings). Parameter: $indexed_at.
WITH lengths AS (
    SELECT doc_id, any_value(body_terms) AS body_terms, any_value(title_terms) AS title_terms
    FROM search_batch_postings GROUP BY doc_id
)
INSERT INTO search_stats
SELECT $indexed_at,
    count(*) - sum(len(b.earlier_ids)),
    coalesce(sum(l.body_terms), 0) - sum(b.earlier_body_terms),
    coalesce(sum(l.title_terms), 0) - sum(b.earlier_title_terms)
FROM search_batch AS b LEFT JOIN lengths AS l USING (doc_id);
