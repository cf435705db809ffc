-- Store new_tags for the registered retagged_articles (their old tags deleted by delete_retagged_tags.sql) and
-- record the taxonomy version they were tagged with.
INSERT INTO article_topics (article_id, topic_id, score, evidence, taxonomy_version)
SELECT article_id, topic_id, score, evidence, taxonomy_version FROM new_tags;
MERGE INTO article_tag_versions
USING (SELECT DISTINCT article_id FROM retagged_articles) AS r
ON article_tag_versions.article_id = r.article_id
WHEN MATCHED THEN UPDATE SET taxonomy_version = $version, tagged_at = $tagged_at
WHEN NOT MATCHED THEN INSERT (article_id, taxonomy_version, tagged_at) VALUES (r.article_id, $version, $tagged_at);
