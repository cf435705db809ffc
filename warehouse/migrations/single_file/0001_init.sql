-- newsdesk warehouse, schema version 1. All timestamps are UTC (TIMESTAMP without time zone).

CREATE TABLE feeds (
    feed_url                  VARCHAR PRIMARY KEY,  -- as configured
    name                      VARCHAR,
    language                  VARCHAR,
    source                    VARCHAR,              -- host of the feed URL
    title                     VARCHAR,              -- as the feed names itself
    added_at                  TIMESTAMP NOT NULL,
    active                    BOOLEAN NOT NULL DEFAULT true,
    inactive_reason           VARCHAR,
    etag                      VARCHAR,
    last_modified             VARCHAR,
    body_hash                 VARCHAR,              -- hash of the last 200 body, to spot unchanged feeds
    cache_trusted             BOOLEAN NOT NULL DEFAULT true,
    poll_every_s              INTEGER NOT NULL DEFAULT 900,
    next_poll_at              TIMESTAMP,
    last_polled_at            TIMESTAMP,
    last_success_at           TIMESTAMP,
    last_status               INTEGER,
    last_error                VARCHAR,
    consecutive_failures      DOUBLE NOT NULL DEFAULT 0,
    polls_since_unconditional INTEGER NOT NULL DEFAULT 0
);

-- One row per HTTP attempt (feeds and pages): the fetch ledger.
CREATE TABLE fetches (
    run_id      VARCHAR NOT NULL,
    url         VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,  -- feed | page | robots
    status      INTEGER,
    bytes       BIGINT,
    elapsed_ms  DOUBLE,
    final_url   VARCHAR,
    error_class VARCHAR,
    error       VARCHAR,
    fetched_at  TIMESTAMP NOT NULL
);

-- Feed items as seen; (feed_url, guid) is what makes an entry "already seen".
CREATE TABLE entries (
    feed_url      VARCHAR NOT NULL,
    guid          VARCHAR NOT NULL,
    link          VARCHAR,
    title         VARCHAR,
    summary       VARCHAR,
    published_at  TIMESTAMP,
    first_seen_at TIMESTAMP NOT NULL,
    run_id        VARCHAR NOT NULL,
    PRIMARY KEY (feed_url, guid)
);

-- Raw HTML as fetched, zlib-compressed, so that backfills can re-extract without refetching.
CREATE TABLE raw_pages (
    url          VARCHAR PRIMARY KEY,  -- as requested
    final_url    VARCHAR NOT NULL,
    status       INTEGER NOT NULL,
    content_type VARCHAR,
    fetched_at   TIMESTAMP NOT NULL,
    body_zlib    BLOB NOT NULL,
    body_bytes   BIGINT NOT NULL,
    body_hash    VARCHAR NOT NULL,
    run_id       VARCHAR NOT NULL
);

-- One row per canonical URL.
CREATE TABLE articles (
    article_id        VARCHAR PRIMARY KEY,
    canonical_url     VARCHAR NOT NULL UNIQUE,
    url               VARCHAR NOT NULL,  -- as the feed linked it
    final_url         VARCHAR NOT NULL,  -- after redirects
    feed_url          VARCHAR,
    source            VARCHAR NOT NULL,  -- outlet host
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

-- Every feed item that led to an article (one article may be carried by many feeds).
CREATE TABLE article_refs (
    article_id VARCHAR NOT NULL,
    feed_url   VARCHAR NOT NULL,
    guid       VARCHAR NOT NULL,
    url        VARCHAR NOT NULL,
    seen_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (article_id, feed_url, guid)
);

-- A page or article that repeats another: method url | content_hash | near_duplicate.
CREATE TABLE duplicates (
    article_id   VARCHAR PRIMARY KEY,  -- the repeat (for method url: the id of the URL as linked)
    duplicate_of VARCHAR NOT NULL,     -- the article it repeats
    similarity   DOUBLE NOT NULL,
    method       VARCHAR NOT NULL,
    url          VARCHAR,
    detected_at  TIMESTAMP NOT NULL,
    run_id       VARCHAR NOT NULL
);

CREATE TABLE topics (
    topic_id         VARCHAR PRIMARY KEY,
    label            VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,  -- country | region | city | org | person | theme
    parents          VARCHAR[],
    taxonomy_version VARCHAR NOT NULL
);

CREATE TABLE article_topics (
    article_id       VARCHAR NOT NULL,
    topic_id         VARCHAR NOT NULL,
    score            DOUBLE NOT NULL,
    evidence         JSON,  -- surface forms and counts, first offset, how it was inferred
    taxonomy_version VARCHAR NOT NULL,
    PRIMARY KEY (article_id, topic_id)
);

CREATE TABLE runs (
    run_id      VARCHAR PRIMARY KEY,
    flow        VARCHAR NOT NULL,
    params      JSON,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status      VARCHAR NOT NULL,  -- running | completed | failed
    counts      JSON,
    failures    JSON             -- failures grouped by reason
);

-- The failure ledger: every feed, page or record that did not make it, with what a retry needs.
CREATE TABLE failures (
    run_id      VARCHAR NOT NULL,
    stage       VARCHAR NOT NULL,  -- poll | parse | fetch | extract | load
    url         VARCHAR,
    feed_url    VARCHAR,
    reason      VARCHAR NOT NULL,  -- short stable slug, e.g. http_404, no_link, empty_extraction
    detail      VARCHAR,
    retry       JSON,              -- what is needed to retry (entry guid, link, ...)
    failed_at   TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP
);
