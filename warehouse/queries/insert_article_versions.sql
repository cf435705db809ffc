-- Keep the replaced texts.
INSERT INTO article_versions (
    article_id, version, content_hash, title, text, word_count, seen_at, replaced_at, diff_summary, run_id
)
SELECT article_id, version, content_hash, title, text, word_count, seen_at, replaced_at, diff_summary, run_id
FROM replaced_versions
ON CONFLICT DO NOTHING;
