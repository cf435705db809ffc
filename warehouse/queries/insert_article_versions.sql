-- Keep the replaced texts (one row per article_id in replaced_versions); a version already stored stays.
INSERT INTO article_versions (
    article_id, version, content_hash, title, text, word_count, seen_at, replaced_at, diff_summary, run_id
)
SELECT
    r.article_id, r.version, r.content_hash, r.title, r.text, r.word_count, r.seen_at, r.replaced_at,
    r.diff_summary, r.run_id
FROM replaced_versions AS r
ANTI JOIN article_versions AS v ON v.article_id = r.article_id AND v.version = r.version;
