-- Article URLs of cluster members about to get their first duplicate mark (a canonical member moved aside).
SELECT a.article_id, a.url
FROM articles AS a
JOIN cluster_members AS m USING (article_id);
