-- Search reads that prune (docs/lake.md, Search): each posting carries its document's lengths (BM25 without a
-- join), replaced documents are listed (no anti-join over all documents), and document ids are ordered by when
-- their article was first seen (search_doc_id in search_macros.sql), so that looking documents up by id or by
-- first_seen_at reads a few row groups.

-- One row per document a later indexing of its article replaced: readers leave its postings out.
CREATE TABLE search_replaced (
    doc_id UBIGINT NOT NULL,
    replaced_at TIMESTAMP NOT NULL
);

-- Documents replaced before this migration: all but each article's newest.
INSERT INTO search_replaced
SELECT doc_id, now()::TIMESTAMP
FROM search_documents
QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY indexed_at DESC, doc_id DESC) > 1;

ALTER TABLE search_postings ADD COLUMN body_terms INTEGER;
ALTER TABLE search_postings ADD COLUMN title_terms INTEGER;

-- Postings written before this migration are written again with their document's lengths.
INSERT INTO search_postings
SELECT p.term, p.doc_id, p.tf, p.title_tf, d.body_terms, d.title_terms
FROM search_postings AS p JOIN search_documents AS d USING (doc_id)
WHERE p.body_terms IS NULL
ORDER BY p.term, p.doc_id;

DELETE FROM search_postings WHERE body_terms IS NULL;

ALTER TABLE search_documents SET SORTED BY (doc_id);
