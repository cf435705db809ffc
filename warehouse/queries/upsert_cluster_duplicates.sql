-- Point every non-canonical member of a touched cluster at the cluster's canonical member; a row already there
-- keeps its url.
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
ON CONFLICT (article_id) DO UPDATE SET
    duplicate_of = excluded.duplicate_of,
    similarity = excluded.similarity,
    method = excluded.method,
    detected_at = excluded.detected_at,
    run_id = excluded.run_id;
