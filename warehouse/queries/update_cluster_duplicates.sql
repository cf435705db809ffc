-- Point the already marked members of a touched cluster at the cluster's canonical member; their url stays.
-- (duplicates has no key since migration 0004: this UPDATE and insert_cluster_duplicates replace an upsert.)
UPDATE duplicates SET
    duplicate_of = w.duplicate_of,
    similarity = w.similarity,
    method = w.method,
    detected_at = $detected_at,
    run_id = $run_id
FROM cluster_duplicates AS w
WHERE duplicates.article_id = w.article_id;
