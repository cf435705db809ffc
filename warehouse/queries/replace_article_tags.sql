-- Replace the topic tags of the registered retagged_articles with new_tags and record the taxonomy version.
DELETE FROM article_topics WHERE article_id IN (SELECT article_id FROM retagged_articles);
INSERT INTO article_topics (article_id, topic_id, score, evidence, taxonomy_version)
SELECT article_id, topic_id, score, evidence, taxonomy_version FROM new_tags;
INSERT OR REPLACE INTO article_tag_versions (article_id, taxonomy_version, tagged_at)
SELECT article_id, $version, $tagged_at FROM retagged_articles;
