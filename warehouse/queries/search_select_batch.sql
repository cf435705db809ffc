-- The given articles whose title, text and date are not indexed as they are now (new or changed), each with
-- the id of the document its postings will carry. Parameters: $article_ids (VARCHAR[]), $token (per call).
WITH batch AS (
    SELECT
        article_id,
        arg_max(title, updated_at) AS title,
        arg_max("text", updated_at) AS body,
        arg_max(coalesce(published_at, first_seen_at), updated_at) AS dated_at
    FROM articles
    WHERE article_id IN (SELECT unnest($article_ids))
    GROUP BY article_id
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
SELECT f.article_id, f.title, f.body, f.dated_at, f.fingerprint, hash(f.article_id, f.fingerprint, $token) AS doc_id
FROM fingerprinted AS f
ANTI JOIN indexed AS i ON i.article_id = f.article_id AND i.fingerprint = f.fingerprint;
