-- The rows of search_batch_rows (article_id, title, text, published_at, first_seen_at) whose title, text and
-- date are not indexed as they are now (new or changed articles), each with the id of the document its
-- postings will carry. The last row of an article given twice wins. Parameter: $token (one per call).
WITH numbered AS (
    SELECT *, row_number() OVER () AS position FROM search_batch_rows
),
batch AS (
    SELECT article_id, title, "text" AS body, coalesce(published_at, first_seen_at) AS dated_at, first_seen_at
    FROM numbered
    QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY position DESC) = 1
),
fingerprinted AS (
    SELECT *, md5(concat_ws(chr(0), coalesce(title, ''), body, dated_at::VARCHAR)) AS fingerprint FROM batch
),
indexed AS (  -- the fingerprint of each batch article's newest document
    SELECT article_id, arg_max(fingerprint, (indexed_at, doc_id)) AS fingerprint
    FROM search_documents
    WHERE article_id IN (SELECT article_id FROM batch)
    GROUP BY article_id
)
SELECT f.article_id, f.title, f.body, f.dated_at, f.first_seen_at, f.fingerprint,
    hash(f.article_id, f.fingerprint, $token) AS doc_id
FROM fingerprinted AS f
ANTI JOIN indexed AS i ON i.article_id = f.article_id AND i.fingerprint = f.fingerprint;
