-- The band index file (warehouse/band_index.py), in SQLite: band rows keyed by hash, so that a batch's hashes are
-- looked up in the B-tree; dated_at in microseconds since 1970 (UTC). band_probe holds one lookup's hashes.
CREATE TABLE IF NOT EXISTS band_index (
    band_hash INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    dated_at INTEGER NOT NULL,
    PRIMARY KEY (band_hash, article_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS band_index_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS band_probe (band_hash INTEGER PRIMARY KEY);
