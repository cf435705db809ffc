-- Articles whose topic tags come from another taxonomy version than $version (or whose version is unknown:
-- no record of a tagging and no tags), optionally only among the registered candidate_articles.
WITH tag_versions AS (
    SELECT article_id, min(taxonomy_version) AS oldest, max(taxonomy_version) AS newest
    FROM article_topics
    GROUP BY article_id
)
SELECT a.article_id
FROM articles AS a
LEFT JOIN article_tag_versions AS v USING (article_id)
LEFT JOIN tag_versions AS t USING (article_id)
WHERE ($everything OR a.article_id IN (SELECT article_id FROM candidate_articles))
  AND ($force OR coalesce(v.taxonomy_version, CASE WHEN t.oldest = t.newest THEN t.oldest END)
                 IS DISTINCT FROM $version)
ORDER BY a.article_id;
