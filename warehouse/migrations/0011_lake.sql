-- newsdesk warehouse as a DuckLake, schema version 11: the single-file schema of version 10 (see single_file/),
-- without keys (DuckLake has no PRIMARY KEY or UNIQUE: the loaders anti-join instead); runs become an append-only
-- log with the lake snapshot each run committed. All timestamps are UTC (TIMESTAMP without time zone).

CREATE TABLE article_bands (
    band_hash BIGINT NOT NULL,
    band SMALLINT NOT NULL,
    article_id VARCHAR NOT NULL,
    dated_at TIMESTAMP NOT NULL
);

CREATE TABLE article_refs (
    article_id VARCHAR NOT NULL,
    feed_url VARCHAR NOT NULL,
    guid VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    seen_at TIMESTAMP NOT NULL
);

CREATE TABLE article_signatures (
    article_id VARCHAR NOT NULL,
    cluster_id VARCHAR NOT NULL,
    dated_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP,
    text_chars INTEGER NOT NULL,
    content_hash VARCHAR NOT NULL,
    "source" VARCHAR NOT NULL,
    wire_credit VARCHAR,
    minhash BLOB NOT NULL,
    minhash_version VARCHAR NOT NULL,
    signed_at TIMESTAMP NOT NULL
);

CREATE TABLE article_tag_versions (
    article_id VARCHAR NOT NULL,
    taxonomy_version VARCHAR NOT NULL,
    tagged_at TIMESTAMP NOT NULL
);

CREATE TABLE article_topics (
    article_id VARCHAR NOT NULL,
    topic_id VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    evidence JSON,
    taxonomy_version VARCHAR NOT NULL
);

CREATE TABLE article_versions (
    article_id VARCHAR NOT NULL,
    "version" INTEGER NOT NULL,
    content_hash VARCHAR NOT NULL,
    title VARCHAR,
    "text" VARCHAR NOT NULL,
    word_count INTEGER NOT NULL,
    seen_at TIMESTAMP NOT NULL,
    replaced_at TIMESTAMP NOT NULL,
    diff_summary VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL
);

CREATE TABLE articles (
    article_id VARCHAR NOT NULL,
    canonical_url VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    final_url VARCHAR NOT NULL,
    feed_url VARCHAR,
    "source" VARCHAR NOT NULL,
    title VARCHAR,
    byline VARCHAR,
    published_at TIMESTAMP,
    "language" VARCHAR,
    "text" VARCHAR NOT NULL,
    word_count INTEGER NOT NULL,
    content_hash VARCHAR NOT NULL,
    categories VARCHAR[],
    first_seen_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    extractor_version VARCHAR NOT NULL,
    cleaner_version VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    published_source VARCHAR,
    date_candidates VARCHAR,
    modified_at TIMESTAMP,
    language_source VARCHAR,
    language_confidence DOUBLE,
    declared_language VARCHAR,
    extractor VARCHAR
);

CREATE TABLE duplicates (
    article_id VARCHAR NOT NULL,
    duplicate_of VARCHAR NOT NULL,
    similarity DOUBLE NOT NULL,
    "method" VARCHAR NOT NULL,
    url VARCHAR,
    detected_at TIMESTAMP NOT NULL,
    run_id VARCHAR NOT NULL
);

CREATE TABLE entries (
    feed_url VARCHAR NOT NULL,
    guid VARCHAR NOT NULL,
    link VARCHAR,
    title VARCHAR,
    summary VARCHAR,
    published_at TIMESTAMP,
    first_seen_at TIMESTAMP NOT NULL,
    run_id VARCHAR NOT NULL,
    updated_at TIMESTAMP
);

CREATE TABLE extraction_alarms (
    run_id VARCHAR NOT NULL,
    "source" VARCHAR NOT NULL,
    flagged_at TIMESTAMP NOT NULL,
    pages INTEGER NOT NULL,
    failed_share DOUBLE NOT NULL,
    baseline_pages INTEGER NOT NULL,
    baseline_share DOUBLE NOT NULL
);

CREATE TABLE failures (
    run_id VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    url VARCHAR,
    feed_url VARCHAR,
    reason VARCHAR NOT NULL,
    detail VARCHAR,
    retry JSON,
    failed_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP
);

CREATE TABLE feed_tags (
    feed_url VARCHAR NOT NULL,
    tag VARCHAR NOT NULL,
    added_at TIMESTAMP NOT NULL
);

CREATE TABLE feeds (
    feed_url VARCHAR NOT NULL,
    "name" VARCHAR,
    "language" VARCHAR,
    "source" VARCHAR,
    title VARCHAR,
    added_at TIMESTAMP NOT NULL,
    active BOOLEAN DEFAULT true NOT NULL,
    inactive_reason VARCHAR,
    etag VARCHAR,
    last_modified VARCHAR,
    body_hash VARCHAR,
    cache_trusted BOOLEAN DEFAULT true NOT NULL,
    poll_every_s INTEGER DEFAULT 900 NOT NULL,
    next_poll_at TIMESTAMP,
    last_polled_at TIMESTAMP,
    last_success_at TIMESTAMP,
    last_status INTEGER,
    last_error VARCHAR,
    consecutive_failures DOUBLE DEFAULT 0 NOT NULL,
    polls_since_unconditional INTEGER DEFAULT 0 NOT NULL,
    origin VARCHAR DEFAULT 'sources',
    "subscription" VARCHAR DEFAULT 'subscribed',
    subscription_changed_at TIMESTAMP,
    html_url VARCHAR,
    outline_attributes JSON
);

CREATE TABLE fetches (
    run_id VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    status INTEGER,
    bytes BIGINT,
    elapsed_ms DOUBLE,
    final_url VARCHAR,
    error_class VARCHAR,
    "error" VARCHAR,
    fetched_at TIMESTAMP NOT NULL
);

CREATE TABLE pending_entries (
    feed_url VARCHAR NOT NULL,
    guid VARCHAR NOT NULL,
    link VARCHAR,
    title VARCHAR,
    summary VARCHAR,
    published_at TIMESTAMP,
    "error" VARCHAR,
    updated_at TIMESTAMP,
    run_id VARCHAR NOT NULL,
    polled_at TIMESTAMP NOT NULL,
    resumed INTEGER DEFAULT 0 NOT NULL,
    due_at TIMESTAMP
);

CREATE TABLE raw_pages (
    url VARCHAR NOT NULL,
    final_url VARCHAR NOT NULL,
    status INTEGER NOT NULL,
    content_type VARCHAR,
    fetched_at TIMESTAMP NOT NULL,
    body_compressed BLOB,
    body_bytes BIGINT NOT NULL,
    body_hash VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    body_codec VARCHAR NOT NULL,
    body_file VARCHAR
);

-- Runs as an append-only log (a row when a run starts, another when it ends), so that runs writing at once never
-- rewrite each other's rows; the view `runs` shows each run's latest row.
CREATE TABLE run_log (
    run_id VARCHAR NOT NULL,
    flow VARCHAR NOT NULL,
    params JSON,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,
    counts JSON,
    failures JSON,
    lake_snapshot BIGINT,  -- the lake snapshot holding all of the run's writes (`newsdesk sql --as-of RUN_ID`)
    logged_at TIMESTAMP NOT NULL
);

CREATE TABLE topics (
    topic_id VARCHAR NOT NULL,
    "label" VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    parents VARCHAR[],
    taxonomy_version VARCHAR NOT NULL
);
