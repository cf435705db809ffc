-- The best $depth live documents for a query (search_top in search_macros.sql). Parameters: $query,
-- $title_weight, $depth.
SELECT doc_id, score, has_all_words FROM search_top($query, $title_weight, $depth);
