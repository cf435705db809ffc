-- The postings search's macros, made per connection (TEMP, so a read-only lake connection can have them);
-- stem() comes from the fts extension. One tokeniser for indexing and querying: lower case, accents
-- stripped, split on anything not a letter or digit, words of one character and English stop words dropped.
CREATE OR REPLACE TEMP MACRO search_stop_words() AS [
    'about', 'above', 'after', 'again', 'against', 'all', 'also', 'am', 'an', 'and', 'any', 'are', 'as',
    'at', 'be', 'because', 'been', 'before', 'being', 'below', 'between', 'both', 'but', 'by', 'can',
    'could', 'did', 'do', 'does', 'doing', 'down', 'during', 'each', 'few', 'for', 'from', 'further',
    'had', 'has', 'have', 'having', 'he', 'her', 'here', 'hers', 'herself', 'him', 'himself', 'his',
    'how', 'if', 'in', 'into', 'is', 'it', 'its', 'itself', 'just', 'me', 'more', 'most', 'my',
    'myself', 'no', 'nor', 'not', 'now', 'of', 'off', 'on', 'once', 'only', 'or', 'other', 'our',
    'ours', 'ourselves', 'out', 'over', 'own', 'same', 'she', 'should', 'so', 'some', 'such', 'than',
    'that', 'the', 'their', 'theirs', 'them', 'themselves', 'then', 'there', 'these', 'they', 'this',
    'those', 'through', 'to', 'too', 'under', 'until', 'up', 'very', 'was', 'we', 'were', 'what',
    'when', 'where', 'which', 'while', 'who', 'whom', 'why', 'will', 'with', 'would', 'you', 'your',
    'yours', 'yourself', 'yourselves'
];

-- The words of a text before stop words are dropped (indexing drops them by a join: faster than a list test).
CREATE OR REPLACE TEMP MACRO search_split(body) AS list_filter(
    regexp_split_to_array(lower(strip_accents(coalesce(body, ''))), '[^a-z0-9]+'), word -> length(word) > 1
);

CREATE OR REPLACE TEMP MACRO search_words(body) AS
    list_filter(search_split(body), word -> NOT list_contains(search_stop_words(), word));

CREATE OR REPLACE TEMP MACRO search_stem(word) AS stem(word, 'porter');

-- BM25 as DuckDB's fts computes it: a term's idf over n documents of which df hold it, and its weight in a
-- field of `terms` words against the average (k1 1.2, b 0.75; k1 + 1 = 2.2).
CREATE OR REPLACE TEMP MACRO search_idf(n, df) AS ln(1 + (n - df + 0.5) / (df + 0.5));

CREATE OR REPLACE TEMP MACRO search_bm25(idf, tf, terms, avg_terms) AS
    idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * terms / avg_terms));

-- The distinct terms a query looks for.
CREATE OR REPLACE TEMP MACRO search_query_terms(query) AS
    list_distinct(list_transform(search_words(query), word -> search_stem(word)));

-- A document's id: the minute its article was first seen in the high 26 bits (until 2097), a hash of the
-- indexing in the low 38. Ids so ordered keep search_documents sorted by first sight, so a lookup by id or by
-- first_seen_at reads a few row groups (docs/lake.md, Search).
CREATE OR REPLACE TEMP MACRO search_doc_id(first_seen, salt) AS
    (greatest(epoch_ms(first_seen) // 60000, 0)::UBIGINT << 38) | (salt & 274877906943::UBIGINT);

-- Canonical articles matching a query, with their BM25 scores (k1 1.2, b 0.75, as DuckDB's fts): the score
-- over title and text plus title_weight times the title's own; has_all_words when every query term occurs.
-- Only each article's live document counts (not in search_replaced). Order by has_all_words DESC, score DESC,
-- dated_at, article_id. Exact over every match: the slower path (search_articles reads fewer rows).
CREATE OR REPLACE TEMP MACRO search_ranked(query, topic := NULL, since := NULL, title_weight := 2.0) AS TABLE
WITH terms AS (
    SELECT DISTINCT unnest(search_query_terms(query)) AS term
),
live_hits AS (
    SELECT p.term, p.doc_id, p.tf, p.title_tf, p.body_terms, p.title_terms
    FROM search_postings AS p SEMI JOIN terms USING (term)
    ANTI JOIN search_replaced AS r USING (doc_id)
),
corpus AS (
    SELECT
        greatest(sum(documents), 1) AS n,
        greatest(sum(body_terms) / greatest(sum(documents), 1), 1) AS body_avg,
        greatest(sum(title_terms) / greatest(sum(documents), 1), 1) AS title_avg
    FROM search_stats
),
idf AS (
    SELECT
        term,
        search_idf(any_value(n), count(*)) AS body_idf,
        search_idf(any_value(n), count(*) FILTER (title_tf > 0))
            AS title_idf
    FROM live_hits, corpus
    GROUP BY term
),
scored AS (
    SELECT
        h.doc_id,
        sum(search_bm25(i.body_idf, h.tf, h.body_terms, c.body_avg)) AS body_score,
        coalesce(sum(search_bm25(i.title_idf, h.title_tf, h.title_terms, c.title_avg))
            FILTER (h.title_tf > 0), 0) AS title_score,
        count(*) = (SELECT count(*) FROM terms) AS has_all_words
    FROM live_hits AS h JOIN idf AS i USING (term), corpus AS c
    GROUP BY h.doc_id
)
SELECT
    d.article_id,
    s.body_score + title_weight * s.title_score AS score,
    s.has_all_words,
    s.body_score,
    s.title_score,
    d.dated_at,
    d.first_seen_at
FROM scored AS s JOIN search_documents AS d USING (doc_id)
WHERE (since IS NULL OR d.dated_at >= since)
  AND d.article_id IN (SELECT article_id FROM canonical_articles)
  AND (topic IS NULL OR d.article_id IN (SELECT t.article_id FROM article_topics AS t WHERE t.topic_id = topic))
-- One document per article even if two indexings of it ran at once unseen by each other (see index_articles).
QUALIFY row_number() OVER (PARTITION BY d.article_id ORDER BY d.indexed_at DESC, d.doc_id DESC) = 1;
