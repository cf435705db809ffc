-- The best $depth live documents for a query's terms, scored as search_ranked (search_macros.sql) does, from
-- the postings alone: every query term first, then BM25. Terms are constants, so the lake reads only their
-- postings' files and row groups; as a list ($term_list) they also drop other terms' rows in the scan itself.
-- Parameters: {terms} ($t0, $t1, ...), $term_list, $term_count, $title_weight, $depth, $cap.
WITH corpus AS (
    SELECT
        greatest(sum(documents), 1) AS n,
        greatest(sum(body_terms) / greatest(sum(documents), 1), 1) AS body_avg,
        greatest(sum(title_terms) / greatest(sum(documents), 1), 1) AS title_avg
    FROM search_stats
),
live_hits AS (
    SELECT p.term, p.doc_id, p.tf, p.title_tf, p.body_terms, p.title_terms
    FROM search_postings AS p
    ANTI JOIN search_replaced AS r USING (doc_id)
    WHERE p.term IN ({terms}) AND list_contains($term_list, p.term)
),
weights AS (
    SELECT
        term,
        search_idf(any_value(n), count(*)) AS body_idf,
        search_idf(any_value(n), count(*) FILTER (title_tf > 0))
            AS title_idf
    FROM live_hits, corpus
    GROUP BY term
),
{rank_tail}
SELECT r.doc_id, r.score, r.has_all_words
FROM ranked AS r LEFT JOIN cut AS c ON true
WHERE c.score IS NULL OR (r.has_all_words, r.score) >= (c.has_all_words, c.score)
ORDER BY r.has_all_words DESC, r.score DESC, r.doc_id
LIMIT $cap;
