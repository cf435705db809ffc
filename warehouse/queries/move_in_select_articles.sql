-- The moved articles named in move_in_ids, with what the search index reads of them.
SELECT a.article_id, a.title, a.text, a.published_at, a.first_seen_at
FROM articles AS a
SEMI JOIN move_in_ids AS m USING (article_id);
