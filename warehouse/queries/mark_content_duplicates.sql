-- New articles whose normalised text equals an article already stored (or an earlier one of the same batch)
-- become duplicates of it. Stored articles win over batch ones; then the earliest published; then the lowest id.
INSERT INTO duplicates (article_id, duplicate_of, similarity, method, url, detected_at, run_id)
WITH candidates AS (
    SELECT
        n.article_id AS duplicate_id,
        n.url,
        a.article_id AS original_id,
        row_number() OVER (
            PARTITION BY n.article_id
            ORDER BY (b.article_id IS NOT NULL), b.batch_rank, a.published_at NULLS LAST, a.article_id
        ) AS preference
    FROM batch_articles AS n
    JOIN articles AS a ON a.content_hash = n.content_hash AND a.article_id <> n.article_id
    LEFT JOIN batch_articles AS b ON b.article_id = a.article_id
    WHERE NOT EXISTS (SELECT 1 FROM duplicates AS d WHERE d.article_id = a.article_id)
      AND (b.article_id IS NULL OR b.batch_rank < n.batch_rank)
)
SELECT c.duplicate_id, c.original_id, 1.0, 'content_hash', c.url, $detected_at, $run_id
FROM candidates AS c
-- An article already marked (a URL alias, say) keeps its mark: the load keeps duplicates keyed (migration 0004).
ANTI JOIN duplicates AS marked ON marked.article_id = c.duplicate_id
WHERE c.preference = 1;
