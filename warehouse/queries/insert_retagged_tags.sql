-- Store new_tags for the registered retagged_articles (their old tags deleted by delete_retagged_tags.sql) and
-- record the taxonomy version they were tagged with.
INSERT INTO article_topics (article_id, topic_id, score, evidence, taxonomy_version)
SELECT article_id, topic_id, score, evidence, taxonomy_version FROM new_tags;
INSERT OR REPLACE INTO article_tag_versions (article_id, taxonomy_version, tagged_at)
SELECT article_id, $version, $tagged_at FROM retagged_articles;
