-- Schema version 15: the short lines (paragraphs under 25 words) of stored article texts, by site, so that a line
-- recurring on many pages of one site is known as that site's boilerplate ("Follow us on …", newsletter lines;
-- transforms/site_lines.py, docs/extraction.md). Append-only, written in each batch's load transaction: a page
-- loaded twice (a retried batch, two runs at once) adds its rows again, and readers count distinct pages.
CREATE TABLE site_lines (
    site       VARCHAR NOT NULL,    -- host of the page's final URL (with a non-default port), as articles.source
    line_hash  BIGINT NOT NULL,     -- fingerprint of the line's lower-case word tokens (signed 64-bit blake2b)
    article_id VARCHAR NOT NULL,    -- the page's article
    seen_at    TIMESTAMP NOT NULL   -- UTC, when the batch was loaded
);

-- Sorted by site, a data file's row groups each hold few sites: a batch's read touches only its sites' groups.
ALTER TABLE site_lines SET SORTED BY (site, line_hash);
