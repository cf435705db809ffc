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
idf AS (
    SELECT
        term,
        search_idf(any_value(n), count(*)) AS body_idf,
        search_idf(any_value(n), count(*) FILTER (title_tf > 0))
            AS title_idf
    FROM live_hits, corpus
    GROUP BY term
),
scored AS (
    SELECT
        h.doc_id,
        sum(search_bm25(i.body_idf, h.tf, h.body_terms, c.body_avg)) AS body_score,
        coalesce(sum(search_bm25(i.title_idf, h.title_tf, h.title_terms, c.title_avg))
            FILTER (h.title_tf > 0), 0) AS title_score,
        count(*) = $term_count AS has_all_words
    FROM live_hits AS h JOIN idf AS i USING (term), corpus AS c
    GROUP BY h.doc_id
),
-- The best $depth and every document level with the last of them (so that a tie at the cut is read whole),
-- at most $cap.
ranked AS (
    SELECT doc_id, body_score + $title_weight * title_score AS score, has_all_words FROM scored
),
cut AS (
    SELECT has_all_words, score FROM ranked ORDER BY has_all_words DESC, score DESC LIMIT 1 OFFSET $depth - 1
)
SELECT r.doc_id, r.score, r.has_all_words
FROM ranked AS r LEFT JOIN cut AS c ON true
WHERE c.score IS NULL OR (r.has_all_words, r.score) >= (c.has_all_words, c.score)
ORDER BY r.has_all_words DESC, r.score DESC, r.doc_id
LIMIT $cap;
