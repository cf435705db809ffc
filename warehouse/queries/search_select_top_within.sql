-- The best $depth of the candidate documents (those with a posting of {candidates}: the query's rarest term,
-- or any query term in the title), scored exactly from all their query-term postings with the idf given:
-- what search_select_top.sql computes, over fewer documents. warehouse/ranking.py knows how high a document
-- outside the candidates can rank, and uses this only when the candidates rank above that.
-- Parameters: {weights} (($w0, $b0, $h0), ...: term, body idf, title idf), {terms}, {candidates}, $term_count,
-- $title_weight, $body_avg, $title_avg, $depth, $cap.
WITH weights AS (
    SELECT * FROM (VALUES {weights}) AS w(term, body_idf, title_idf)
),
candidates AS (
    SELECT DISTINCT doc_id FROM search_postings WHERE term IN ({terms}) AND {candidates}
),
live_hits AS (
    SELECT p.term, p.doc_id, p.tf, p.title_tf, p.body_terms, p.title_terms
    FROM search_postings AS p
    SEMI JOIN candidates USING (doc_id)
    ANTI JOIN search_replaced AS r USING (doc_id)
    WHERE p.term IN ({terms})
),
scored AS (
    SELECT
        h.doc_id,
        sum(w.body_idf * h.tf * 2.2 / (h.tf + 1.2 * (0.25 + 0.75 * h.body_terms / $body_avg))) AS body_score,
        coalesce(sum(w.title_idf * h.title_tf * 2.2
            / (h.title_tf + 1.2 * (0.25 + 0.75 * h.title_terms / $title_avg))) FILTER (h.title_tf > 0), 0)
            AS title_score,
        count(*) = $term_count AS has_all_words
    FROM live_hits AS h JOIN weights AS w USING (term)
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
