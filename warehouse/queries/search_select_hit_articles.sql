-- What a search shows of each ranked article (found canonical by search_select_hit_documents.sql just before).
-- The first_seen_at constants let the reader skip every row group of articles first seen at other times: the
-- text column is the bulk. The ids as a list drop the other rows in the scan, before their text is copied (an
-- IN list only prunes, and filters after the scan).
-- Parameters: {first_seen} ($f0, $f1, ...), {article_ids} ($a0, $a1, ...), $article_id_list.
SELECT article_id, title, "source", published_at, canonical_url, "text"
FROM articles
WHERE first_seen_at IN ({first_seen}) AND article_id IN ({article_ids})
  AND list_contains($article_id_list, article_id)
QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY updated_at DESC) = 1;
