-- The best $depth documents for a query's terms (as search_select_top.sql), in one statement that reads the
-- terms' live postings once, counts each term's df and title df, then scores only candidates: with one term,
-- the documents holding it in their title; with several, those holding the rarest one (fewest documents); with
-- at most $exhaustive_postings postings in all, every document. Each row also says whether every document was
-- a candidate (everything) and how high a document that was not can score (others_score; with several terms it
-- also lacks a word): warehouse/top_documents.py keeps only the rows ranked above that.
-- The terms come twice: as constants ({terms}: files and row groups of other terms are skipped) and as a list
-- ($term_list: the scan itself drops other terms' rows, where an IN list only prunes and filters after it).
-- Parameters: {terms} ($t0, $t1, ...), $term_list, $term_count, $title_weight, $exhaustive_postings, $depth,
-- $cap.
WITH corpus AS (
    SELECT
        greatest(sum(documents), 1) AS n,
        greatest(sum(body_terms) / greatest(sum(documents), 1), 1) AS body_avg,
        greatest(sum(title_terms) / greatest(sum(documents), 1), 1) AS title_avg
    FROM search_stats
),
hits AS MATERIALIZED (
    SELECT p.term, p.doc_id, p.tf, p.title_tf, p.body_terms, p.title_terms
    FROM search_postings AS p
    ANTI JOIN search_replaced AS r USING (doc_id)
    WHERE p.term IN ({terms}) AND list_contains($term_list, p.term)
),
counts AS (
    SELECT term, count(*) AS df, count(*) FILTER (title_tf > 0) AS title_df
    FROM hits
    GROUP BY term
),
weights AS (
    SELECT
        w.term, w.df, w.body_idf, w.title_idf,
        -- the most the term can add to a score: 2.2 × idf in the text (k1 + 1), and so in the title
        2.2 * (greatest(w.body_idf, 0) + CASE WHEN w.title_df > 0 THEN $title_weight * greatest(w.title_idf, 0)
            ELSE 0 END) AS most
    FROM (
        SELECT term, df, title_df,
            search_idf(n, df) AS body_idf,
            search_idf(n, title_df) AS title_idf
        FROM counts, corpus
    ) AS w
),
plan AS (
    SELECT
        sum(df) <= $exhaustive_postings AS everything,
        arg_min(term, (df, term)) AS rare,
        CASE WHEN $term_count = 1 THEN 2.2 * greatest(max(body_idf), 0)
            ELSE sum(most) - arg_min(most, (df, term)) END AS others_score
    FROM weights
),
candidates AS (
    SELECT DISTINCT h.doc_id
    FROM hits AS h, plan
    WHERE plan.everything OR CASE WHEN $term_count = 1 THEN h.title_tf > 0 ELSE h.term = plan.rare END
),
live_hits AS (
    SELECT * FROM hits SEMI JOIN candidates USING (doc_id)
),
{rank_tail}
SELECT r.doc_id, r.score, r.has_all_words, p.everything, p.others_score
FROM ranked AS r LEFT JOIN cut AS c ON true, plan AS p
WHERE c.score IS NULL OR (r.has_all_words, r.score) >= (c.has_all_words, c.score)
ORDER BY r.has_all_words DESC, r.score DESC, r.doc_id
LIMIT $cap;
