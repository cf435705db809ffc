-- The postings of the documents in search_batch (doc_id, title, body): per term, its count in title and text
-- together and in the title alone, and the document's lengths in terms (summed counts). Stop words go by an
-- anti-join; each distinct word is stemmed once.
WITH split AS (
    SELECT doc_id, true AS in_title, unnest(search_split(title)) AS word FROM search_batch
    UNION ALL
    SELECT doc_id, false AS in_title, unnest(search_split(body)) AS word FROM search_batch
),
words AS (
    SELECT * FROM split ANTI JOIN (SELECT unnest(search_stop_words()) AS word) AS stop USING (word)
),
stems AS (
    SELECT word, search_stem(word) AS term FROM (SELECT DISTINCT word FROM words)
),
counted AS (
    SELECT s.term, w.doc_id, count(*)::INTEGER AS tf, (count(*) FILTER (w.in_title))::INTEGER AS title_tf
    FROM words AS w JOIN stems AS s USING (word)
    GROUP BY s.term, w.doc_id
)
SELECT term, doc_id, tf, title_tf,
    (sum(tf) OVER (PARTITION BY doc_id))::INTEGER AS body_terms,
    (sum(title_tf) OVER (PARTITION BY doc_id))::INTEGER AS title_terms
FROM counted
ORDER BY term, doc_id;
