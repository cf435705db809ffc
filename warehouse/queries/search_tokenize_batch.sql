-- The postings of the documents in search_batch (article_id, title, body, doc_id): per term, its count in
-- title and text together and in the title alone. Each distinct word is stemmed once.
WITH words AS (
    SELECT doc_id, true AS in_title, unnest(search_words(title)) AS word FROM search_batch
    UNION ALL
    SELECT doc_id, false AS in_title, unnest(search_words(body)) AS word FROM search_batch
),
stems AS (
    SELECT word, search_stem(word) AS term FROM (SELECT DISTINCT word FROM words)
)
SELECT s.term, w.doc_id, count(*)::INTEGER AS tf, (count(*) FILTER (w.in_title))::INTEGER AS title_tf
FROM words AS w JOIN stems AS s USING (word)
GROUP BY s.term, w.doc_id
ORDER BY s.term, w.doc_id;
