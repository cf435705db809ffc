-- The stored text of articles fetched again, and how many earlier versions each already has.
SELECT
    a.article_id,
    a.content_hash,
    a.title,
    a.text,
    a.word_count,
    a.published_at,
    a.first_seen_at,
    a.updated_at,
    (SELECT count(*) FROM article_versions AS v WHERE v.article_id = a.article_id) AS versions
FROM articles AS a
JOIN revised_ids AS r USING (article_id);
