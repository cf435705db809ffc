-- The tables every batch writes lose their PRIMARY KEY / UNIQUE constraints (docs/benchmarks.md, "Dedup + load
-- growth"): DuckDB rewrites the whole ART index of every touched keyed table at each checkpoint, i.e. whenever a
-- batch's write connection closes, so the per-batch cost grew with the warehouse (≈ 0.4-1.6 s per table at 200k
-- articles). The keys are now kept by the loads (warehouse/load.py and the insert queries): anti-joins on the
-- key columns, one row per key within a batch, and DELETE+INSERT or UPDATE where a row is replaced, all in the
-- batch's single transaction; DuckDB's file lock makes that transaction the only writer.
-- DuckDB cannot drop a constraint: each table is created anew, filled, and takes the old one's name. Views bind
-- by name and are recreated after the migration. Small tables (feeds, runs, topics, article_tag_versions) keep
-- their keys. Columns, their order, NOT NULL and defaults are unchanged.

-- key (feed_url, guid)
CREATE TABLE entries_0004 (
    feed_url      VARCHAR NOT NULL,
    guid          VARCHAR NOT NULL,
    link          VARCHAR,
    title         VARCHAR,
    summary       VARCHAR,
    published_at  TIMESTAMP,
    first_seen_at TIMESTAMP NOT NULL,
    run_id        VARCHAR NOT NULL,
    updated_at    TIMESTAMP
);
INSERT INTO entries_0004
SELECT feed_url, guid, link, title, summary, published_at, first_seen_at, run_id, updated_at FROM entries;
DROP TABLE entries;
ALTER TABLE entries_0004 RENAME TO entries;

-- key url (as requested)
CREATE TABLE raw_pages_0004 (
    url          VARCHAR NOT NULL,
    final_url    VARCHAR NOT NULL,
    status       INTEGER NOT NULL,
    content_type VARCHAR,
    fetched_at   TIMESTAMP NOT NULL,
    body_zlib    BLOB NOT NULL,
    body_bytes   BIGINT NOT NULL,
    body_hash    VARCHAR NOT NULL,
    run_id       VARCHAR NOT NULL
);
INSERT INTO raw_pages_0004
SELECT url, final_url, status, content_type, fetched_at, body_zlib, body_bytes, body_hash, run_id FROM raw_pages;
DROP TABLE raw_pages;
ALTER TABLE raw_pages_0004 RENAME TO raw_pages;

-- keys article_id and canonical_url (each unique)
CREATE TABLE articles_0004 (
    article_id        VARCHAR NOT NULL,
    canonical_url     VARCHAR NOT NULL,
    url               VARCHAR NOT NULL,
    final_url         VARCHAR NOT NULL,
    feed_url          VARCHAR,
    source            VARCHAR NOT NULL,
    title             VARCHAR,
    byline            VARCHAR,
    published_at      TIMESTAMP,
    language          VARCHAR,
    text              VARCHAR NOT NULL,
    word_count        INTEGER NOT NULL,
    content_hash      VARCHAR NOT NULL,
    categories        VARCHAR[],
    first_seen_at     TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    extractor_version VARCHAR NOT NULL,
    cleaner_version   VARCHAR NOT NULL,
    run_id            VARCHAR NOT NULL
);
INSERT INTO articles_0004
SELECT article_id, canonical_url, url, final_url, feed_url, source, title, byline, published_at, language, text,
    word_count, content_hash, categories, first_seen_at, updated_at, extractor_version, cleaner_version, run_id
FROM articles;
DROP TABLE articles;
ALTER TABLE articles_0004 RENAME TO articles;

-- key (article_id, feed_url, guid)
CREATE TABLE article_refs_0004 (
    article_id VARCHAR NOT NULL,
    feed_url   VARCHAR NOT NULL,
    guid       VARCHAR NOT NULL,
    url        VARCHAR NOT NULL,
    seen_at    TIMESTAMP NOT NULL
);
INSERT INTO article_refs_0004 SELECT article_id, feed_url, guid, url, seen_at FROM article_refs;
DROP TABLE article_refs;
ALTER TABLE article_refs_0004 RENAME TO article_refs;

-- key article_id (the repeat)
CREATE TABLE duplicates_0004 (
    article_id   VARCHAR NOT NULL,
    duplicate_of VARCHAR NOT NULL,
    similarity   DOUBLE NOT NULL,
    method       VARCHAR NOT NULL,
    url          VARCHAR,
    detected_at  TIMESTAMP NOT NULL,
    run_id       VARCHAR NOT NULL
);
INSERT INTO duplicates_0004
SELECT article_id, duplicate_of, similarity, method, url, detected_at, run_id FROM duplicates;
DROP TABLE duplicates;
ALTER TABLE duplicates_0004 RENAME TO duplicates;

-- key (article_id, topic_id)
CREATE TABLE article_topics_0004 (
    article_id       VARCHAR NOT NULL,
    topic_id         VARCHAR NOT NULL,
    score            DOUBLE NOT NULL,
    evidence         JSON,
    taxonomy_version VARCHAR NOT NULL
);
INSERT INTO article_topics_0004
SELECT article_id, topic_id, score, evidence, taxonomy_version FROM article_topics;
DROP TABLE article_topics;
ALTER TABLE article_topics_0004 RENAME TO article_topics;

-- key article_id
CREATE TABLE article_signatures_0004 (
    article_id      VARCHAR NOT NULL,
    cluster_id      VARCHAR NOT NULL,
    dated_at        TIMESTAMP NOT NULL,
    published_at    TIMESTAMP,
    text_chars      INTEGER NOT NULL,
    content_hash    VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,
    wire_credit     VARCHAR,
    minhash         BLOB NOT NULL,
    minhash_version VARCHAR NOT NULL,
    signed_at       TIMESTAMP NOT NULL
);
INSERT INTO article_signatures_0004
SELECT article_id, cluster_id, dated_at, published_at, text_chars, content_hash, source, wire_credit, minhash,
    minhash_version, signed_at
FROM article_signatures;
DROP TABLE article_signatures;
ALTER TABLE article_signatures_0004 RENAME TO article_signatures;

-- key (article_id, version)
CREATE TABLE article_versions_0004 (
    article_id   VARCHAR NOT NULL,
    version      INTEGER NOT NULL,
    content_hash VARCHAR NOT NULL,
    title        VARCHAR,
    text         VARCHAR NOT NULL,
    word_count   INTEGER NOT NULL,
    seen_at      TIMESTAMP NOT NULL,
    replaced_at  TIMESTAMP NOT NULL,
    diff_summary VARCHAR NOT NULL,
    run_id       VARCHAR NOT NULL
);
INSERT INTO article_versions_0004
SELECT article_id, version, content_hash, title, text, word_count, seen_at, replaced_at, diff_summary, run_id
FROM article_versions;
DROP TABLE article_versions;
ALTER TABLE article_versions_0004 RENAME TO article_versions;
