-- Title, text and origin of the registered candidate_articles, for re-tagging.
SELECT a.article_id, a.title, a.text, a.feed_url, a.canonical_url
FROM articles AS a
JOIN candidate_articles AS c USING (article_id)
ORDER BY a.article_id;
