-- Put the new text of changed articles in place; identity, first_seen_at and the publication date stay (a
-- page that lost its date keeps the one stored).
UPDATE articles SET
    final_url = r.final_url,
    title = r.title,
    byline = r.byline,
    published_at = coalesce(articles.published_at, r.published_at),
    language = r.language,
    text = r.text,
    word_count = r.word_count,
    content_hash = r.content_hash,
    categories = r.categories,
    updated_at = $updated_at,
    extractor_version = r.extractor_version,
    cleaner_version = r.cleaner_version,
    run_id = r.run_id
FROM revised_articles AS r
WHERE articles.article_id = r.article_id
  AND r.article_id IN (SELECT article_id FROM changed_ids);
