-- The best $depth live documents for a query dated from $since of articles tagged $topic (either NULL for any;
-- search_top_within in search_macros.sql). Parameters: $query, $topic, $since, $title_weight, $depth.
SELECT doc_id, score, has_all_words FROM search_top_within($query, $topic, $since, $title_weight, $depth);
