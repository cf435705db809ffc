-- Full-text search as append-only tables (warehouse/search.py): each indexing of an article adds a document
-- row and its postings; readers take an article's newest document and ignore the postings of older ones.

-- One row per indexing of an article: which text it was (fingerprint), its date and its length in terms.
CREATE TABLE search_documents (
    doc_id UBIGINT NOT NULL,
    article_id VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    dated_at TIMESTAMP,
    first_seen_at TIMESTAMP,
    body_terms INTEGER NOT NULL,
    title_terms INTEGER NOT NULL,
    indexed_at TIMESTAMP NOT NULL
);

-- One row per term of a document: its count in title and text together, and in the title alone.
CREATE TABLE search_postings (
    term VARCHAR NOT NULL,
    doc_id UBIGINT NOT NULL,
    tf INTEGER NOT NULL,
    title_tf INTEGER NOT NULL
);

-- Sorted by term, a data file's row groups each hold few terms, so a query reads only its terms' row groups.
ALTER TABLE search_postings SET SORTED BY (term);

-- One row per indexed batch: how much it changed the live documents' count and lengths (summed by readers).
CREATE TABLE search_stats (
    indexed_at TIMESTAMP NOT NULL,
    documents BIGINT NOT NULL,
    body_terms BIGINT NOT NULL,
    title_terms BIGINT NOT NULL
);

