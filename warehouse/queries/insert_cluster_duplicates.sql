-- Mark the members of a touched cluster not marked yet (cluster_duplicates holds one row per article_id).
INSERT INTO duplicates (article_id, duplicate_of, similarity, method, url, detected_at, run_id)
SELECT
    w.article_id,
    w.duplicate_of,
    w.similarity,
    w.method,
    w.url,
    $detected_at,
    $run_id
FROM cluster_duplicates AS w
ANTI JOIN duplicates AS d ON d.article_id = w.article_id;
