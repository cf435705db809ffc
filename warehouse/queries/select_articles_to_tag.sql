-- Title, text and origin of the registered candidate_articles, for re-tagging. No order: the rows stream in
-- storage order (a sort would hold every text before the first row comes out).
SELECT a.article_id, a.title, a.text, a.feed_url, a.canonical_url
FROM articles AS a
JOIN candidate_articles AS c USING (article_id);
