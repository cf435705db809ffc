-- Stored articles without a MinHash signature (loaded before clustering existed), oldest first.
SELECT article_id, url, source, title, text, content_hash, published_at, first_seen_at
FROM articles AS a
WHERE NOT EXISTS (SELECT 1 FROM article_signatures AS s WHERE s.article_id = a.article_id)
ORDER BY coalesce(published_at, first_seen_at), article_id
LIMIT $limit;
