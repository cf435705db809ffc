-- The best $depth live documents for a query's terms (as search_select_top.sql) among the documents dated
-- from $since of articles tagged $topic (either NULL: no such filter). idf counts every live document; only
-- the filtered documents' postings are scored. The terms' live postings are read once (hits). Parameters:
-- {terms} ($t0, $t1, ...), $term_list (the same as a list), $term_count, $title_weight, $depth, $cap, $topic,
-- $since.
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
weights AS (
    SELECT
        h.term,
        search_idf(any_value(c.n), count(*)) AS body_idf,
        search_idf(any_value(c.n), count(*) FILTER (h.title_tf > 0)) AS title_idf
    FROM hits AS h, corpus AS c
    GROUP BY h.term
),
filtered AS (
    SELECT doc_id FROM search_documents
    WHERE ($since IS NULL OR dated_at >= $since)
      AND ($topic IS NULL OR article_id IN (SELECT article_id FROM article_topics WHERE topic_id = $topic))
),
live_hits AS (
    SELECT * FROM hits SEMI JOIN filtered USING (doc_id)
),
{rank_tail}
SELECT r.doc_id, r.score, r.has_all_words
FROM ranked AS r LEFT JOIN cut AS c ON true
WHERE c.score IS NULL OR (r.has_all_words, r.score) >= (c.has_all_words, c.score)
ORDER BY r.has_all_words DESC, r.score DESC, r.doc_id
LIMIT $cap;
