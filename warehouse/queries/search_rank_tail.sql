-- Spliced into search_select_top*.sql at {rank_tail}: the live hits (live_hits) scored by BM25 with their
-- terms' weights (weights: body_idf, title_idf) over the corpus averages (corpus); ranked; and the rank at the
-- cut.
scored AS (
    SELECT
        h.doc_id,
        sum(search_bm25(w.body_idf, h.tf, h.body_terms, c.body_avg)) AS body_score,
        coalesce(sum(search_bm25(w.title_idf, h.title_tf, h.title_terms, c.title_avg))
            FILTER (h.title_tf > 0), 0) AS title_score,
        count(*) = $term_count AS has_all_words
    FROM live_hits AS h JOIN weights AS w USING (term), corpus AS c
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
