-- Trustworthy article fields (docs/extraction.md): where published_at came from and the dates weighed, the
-- page's stated modification time, how the language was decided, and which extractor's text was kept.
-- Rows stored before this migration keep NULL in the new columns (a reprocess backfill fills them).
ALTER TABLE articles ADD COLUMN published_source VARCHAR;     -- jsonld | meta | time_tag | feed | url | text | crawl
ALTER TABLE articles ADD COLUMN date_candidates VARCHAR;      -- JSON list of {source, value, has_time, kind}
ALTER TABLE articles ADD COLUMN modified_at TIMESTAMP;        -- the page's dateModified / article:modified_time
ALTER TABLE articles ADD COLUMN language_source VARCHAR;      -- text | html | feed
ALTER TABLE articles ADD COLUMN language_confidence DOUBLE;   -- the text detector's confidence, 0-1
ALTER TABLE articles ADD COLUMN declared_language VARCHAR;    -- the page's <html lang>, as declared
ALTER TABLE articles ADD COLUMN extractor VARCHAR;            -- trafilatura | trafilatura+readability | readability | jsonld

-- Sources flagged by the end-of-run drift check (transforms/drift.py): one row per source and run.
CREATE TABLE extraction_alarms (
    run_id          VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,   -- page host
    flagged_at      TIMESTAMP NOT NULL,
    pages           INTEGER NOT NULL,   -- pages of the source this run
    failed_share    DOUBLE NOT NULL,    -- share of them empty or too short
    baseline_pages  INTEGER NOT NULL,   -- pages of the source in the trailing window
    baseline_share  DOUBLE NOT NULL     -- share of those empty or too short
);
