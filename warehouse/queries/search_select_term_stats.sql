-- Per query term, how many live documents hold it (df) and hold it in their title, with the corpus' document
-- count and average lengths: what idf and the score bounds are computed from. Reads the terms' postings'
-- doc_id, term and title_tf columns only. Parameters: {terms} ($t0, $t1, ...).
WITH corpus AS (
    SELECT
        greatest(sum(documents), 1) AS n,
        greatest(sum(body_terms) / greatest(sum(documents), 1), 1) AS body_avg,
        greatest(sum(title_terms) / greatest(sum(documents), 1), 1) AS title_avg
    FROM search_stats
),
counts AS (
    SELECT p.term, count(*) AS df, count(*) FILTER (p.title_tf > 0) AS title_df
    FROM search_postings AS p
    ANTI JOIN search_replaced AS r USING (doc_id)
    WHERE p.term IN ({terms})
    GROUP BY p.term
)
SELECT c.term, c.df, c.title_df, corpus.n, corpus.body_avg, corpus.title_avg FROM counts AS c, corpus;
