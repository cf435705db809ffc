-- One row per story: articles that are not recorded as a duplicate of another.
CREATE OR REPLACE VIEW canonical_articles AS
SELECT a.*
FROM articles AS a
WHERE NOT EXISTS (SELECT 1 FROM duplicates AS d WHERE d.article_id = a.article_id);
