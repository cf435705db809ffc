-- Overwrite stored articles with their re-extracted, re-cleaned version from batch_articles; the identity
-- (article_id, canonical_url, url) and first_seen_at are kept.
UPDATE articles SET
    final_url = r.final_url,
    title = r.title,
    byline = r.byline,
    published_at = r.published_at,
    language = r.language,
    text = r.text,
    word_count = r.word_count,
    content_hash = r.content_hash,
    categories = r.categories,
    updated_at = r.updated_at,
    extractor_version = r.extractor_version,
    cleaner_version = r.cleaner_version,
    run_id = r.run_id,
    published_source = r.published_source,
    date_candidates = r.date_candidates,
    modified_at = r.modified_at,
    language_source = r.language_source,
    language_confidence = r.language_confidence,
    declared_language = r.declared_language,
    extractor = r.extractor
FROM batch_articles AS r
WHERE articles.article_id = r.article_id;
