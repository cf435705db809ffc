-- What a search shows of ranked articles whose stored first_seen_at differs from their document's (a reprocessed
-- article indexed with the time of its rebuild): the same as search_select_hit_articles.sql, every row group
-- read. Parameters: {article_ids} ($a0, $a1, ...), $article_id_list (the same as a list).
SELECT article_id, title, "source", published_at, canonical_url, "text"
FROM canonical_articles
WHERE article_id IN ({article_ids}) AND list_contains($article_id_list, article_id)
QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY updated_at DESC) = 1;
