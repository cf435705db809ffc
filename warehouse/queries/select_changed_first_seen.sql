-- When each article in changed_articles was first seen, as stored (a rebuild keeps it).
SELECT article_id, first_seen_at
FROM articles
SEMI JOIN changed_articles USING (article_id);
