-- The rows of search_batch_rows (article_id, title, text, published_at, first_seen_at) whose title, text and
-- date are not indexed as they are now (new or changed articles), each with the id of the document its
-- postings will carry and its article's live documents (to be replaced). The last row of an article given twice
-- wins. Earlier documents are found by first_seen_at (a few row groups of search_documents, sorted by doc_id),
-- so the batch's rows must carry the first_seen_at stored for their article.
-- Parameters: $token (one per call), {first_seen} (ranges of the batch's first_seen_at: $lo0, $hi0, ...).
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
live AS (  -- the batch articles' documents no later indexing replaced (one, unless two ran unseen at once)
    SELECT d.article_id, d.doc_id, d.fingerprint, d.body_terms, d.title_terms, d.indexed_at
    FROM search_documents AS d
    ANTI JOIN search_replaced AS r USING (doc_id)
    WHERE {first_seen} AND d.article_id IN (SELECT article_id FROM batch)
),
indexed AS (
    SELECT article_id, arg_max(fingerprint, (indexed_at, doc_id)) AS fingerprint, list(doc_id) AS earlier_ids,
        sum(body_terms) AS earlier_body_terms, sum(title_terms) AS earlier_title_terms
    FROM live
    GROUP BY article_id
)
SELECT f.article_id, f.title, f.body, f.dated_at, f.first_seen_at, f.fingerprint,
    search_doc_id(coalesce(f.first_seen_at, f.dated_at), hash(f.article_id, f.fingerprint, $token)) AS doc_id,
    coalesce(i.earlier_ids, []::UBIGINT[]) AS earlier_ids,
    coalesce(i.earlier_body_terms, 0)::BIGINT AS earlier_body_terms,
    coalesce(i.earlier_title_terms, 0)::BIGINT AS earlier_title_terms
FROM fingerprinted AS f
LEFT JOIN indexed AS i USING (article_id)
WHERE i.fingerprint IS DISTINCT FROM f.fingerprint;
