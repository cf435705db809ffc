-- Near-duplicate clusters and article revisions (docs/dedup.md, "Warehouse side").

-- The MinHash signature of every signed article, the cluster it belongs to, and what choosing a cluster's
-- canonical member needs, so that clustering never re-reads article text.
CREATE TABLE article_signatures (
    article_id      VARCHAR PRIMARY KEY,
    cluster_id      VARCHAR NOT NULL,   -- smallest article id of its near-duplicate group (its own when alone)
    dated_at        TIMESTAMP NOT NULL, -- published_at, else first_seen_at: the date the window compares
    published_at    TIMESTAMP,
    text_chars      INTEGER NOT NULL,   -- length of the text: the tie-break between equally early members
    content_hash    VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,   -- outlet host
    wire_credit     VARCHAR,            -- agency the text or title credits (AP, Reuters, ...), if any
    minhash         BLOB NOT NULL,      -- 128 x uint32, little-endian
    minhash_version VARCHAR NOT NULL,
    signed_at       TIMESTAMP NOT NULL
);

-- LSH band hashes: one row per article and band, the band index folded into band_hash. dated_at is copied so
-- that the window of the candidate join prunes row groups instead of scanning every band ever stored.
CREATE TABLE article_bands (
    band_hash  BIGINT NOT NULL,
    band       SMALLINT NOT NULL,
    article_id VARCHAR NOT NULL,
    dated_at   TIMESTAMP NOT NULL
);

-- Earlier texts of articles whose page changed; the current text stays in articles.
CREATE TABLE article_versions (
    article_id   VARCHAR NOT NULL,
    version      INTEGER NOT NULL,    -- 1 for the first text stored; the current text is version count + 1
    content_hash VARCHAR NOT NULL,
    title        VARCHAR,
    text         VARCHAR NOT NULL,
    word_count   INTEGER NOT NULL,
    seen_at      TIMESTAMP NOT NULL,  -- when this text was stored
    replaced_at  TIMESTAMP NOT NULL,  -- when the next text replaced it
    diff_summary VARCHAR NOT NULL,    -- what the next text changed, e.g. "title changed; +42 words, -7 words"
    run_id       VARCHAR NOT NULL,    -- the run that replaced it
    PRIMARY KEY (article_id, version)
);

-- The feed's own "updated" time of an entry (Atom <updated>, JSON Feed date_modified): a later one announces
-- a new version of the page.
ALTER TABLE entries ADD COLUMN updated_at TIMESTAMP;
