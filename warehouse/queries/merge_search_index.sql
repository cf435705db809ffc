-- Fill this snapshot's search index, created empty, from the previous snapshot's (attached as `previous`):
-- articles whose title and text are unchanged keep their postings; new and changed ones are tokenised here as
-- create_fts_index does (lower case, accents stripped, split by the index's own tokenize macro, English stop
-- words dropped before the Porter stemmer); document frequencies and the corpus statistics are recounted.
CREATE OR REPLACE TEMP TABLE search_kept AS
SELECT d.docid, d.name, d.len
FROM previous.fts_main_article_search.docs AS d
JOIN previous.article_search_state AS p ON p.article_id = d.name
JOIN article_search_state AS c ON c.article_id = d.name AND c.fingerprint = p.fingerprint;

CREATE OR REPLACE TEMP TABLE search_new AS
SELECT
    (SELECT coalesce(max(docid), -1) FROM previous.fts_main_article_search.docs)
        + row_number() OVER (ORDER BY a.article_id) AS docid,
    a.article_id AS name,
    a.title,
    a.text
FROM article_search AS a
ANTI JOIN search_kept AS k ON k.name = a.article_id;

CREATE OR REPLACE TEMP TABLE search_new_terms AS
SELECT docid, fieldid, stem(word, 'porter') AS term
FROM (
    SELECT docid, 0 AS fieldid, unnest(fts_main_article_search.tokenize(title)) AS word FROM search_new
    UNION ALL
    SELECT docid, 1 AS fieldid, unnest(fts_main_article_search.tokenize(text)) AS word FROM search_new
)
WHERE word IS NOT NULL AND len(word) > 0
  AND word NOT IN (SELECT sw FROM fts_main_article_search.stopwords);

CREATE OR REPLACE TEMP TABLE search_terms AS
SELECT termid, term FROM previous.fts_main_article_search.dict;

INSERT INTO search_terms
SELECT (SELECT coalesce(max(termid), -1) FROM previous.fts_main_article_search.dict)
        + row_number() OVER (ORDER BY term),
    term
FROM (SELECT DISTINCT term FROM search_new_terms) AS fresh
ANTI JOIN previous.fts_main_article_search.dict AS known USING (term);

INSERT INTO fts_main_article_search.terms
SELECT t.docid, t.fieldid, t.termid
FROM previous.fts_main_article_search.terms AS t
SEMI JOIN search_kept AS k ON k.docid = t.docid;

INSERT INTO fts_main_article_search.terms
SELECT n.docid, n.fieldid, s.termid
FROM search_new_terms AS n
JOIN search_terms AS s USING (term);

INSERT INTO fts_main_article_search.docs
SELECT docid, name, len FROM search_kept
UNION ALL
SELECT n.docid, n.name, count(t.docid)
FROM search_new AS n
LEFT JOIN search_new_terms AS t USING (docid)
GROUP BY n.docid, n.name;

INSERT INTO fts_main_article_search.dict
SELECT s.termid, s.term, f.df
FROM search_terms AS s
JOIN (SELECT termid, count(DISTINCT docid) AS df FROM fts_main_article_search.terms GROUP BY termid) AS f
    USING (termid);

DELETE FROM fts_main_article_search.stats;
INSERT INTO fts_main_article_search.stats SELECT count(*), avg(len) FROM fts_main_article_search.docs;

DROP TABLE search_kept;
DROP TABLE search_new;
DROP TABLE search_new_terms;
DROP TABLE search_terms;
