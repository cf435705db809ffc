-- The band index file (warehouse/band_index.py), in SQLite: band rows keyed by hash, so that a batch's hashes are
-- looked up in the B-tree, and cluster membership keyed by cluster id, so that a batch finds the members of the
-- clusters it touches (and by article, the clusters a candidate has been in); dates in microseconds since 1970
-- (UTC). The probe tables hold one lookup's keys.
CREATE TABLE IF NOT EXISTS band_index (
    band_hash INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    dated_at INTEGER NOT NULL,
    PRIMARY KEY (band_hash, article_id)
) WITHOUT ROWID;
-- Every (cluster, member, date) a writer ever stored, with the member's URL (articles.url never changes): a
-- superset of article_signatures' clusters, which the load checks against the lake.
CREATE TABLE IF NOT EXISTS cluster_index (
    cluster_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    dated_at INTEGER NOT NULL,
    url TEXT,
    PRIMARY KEY (cluster_id, article_id, dated_at)
) WITHOUT ROWID;
-- The clusters each article has been in: a batch finds its candidates' clusters before it reads the lake.
CREATE INDEX IF NOT EXISTS cluster_index_by_article ON cluster_index (article_id);
-- Every MinHash signature a writer ever stored, each text's (a text signed again keeps its old one too): a batch's
-- candidates are verified here before the lake is read, so that articles sharing a band by chance are not read.
CREATE TABLE IF NOT EXISTS signature_index (
    article_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    minhash_version TEXT NOT NULL,
    minhash BLOB NOT NULL,
    UNIQUE (article_id, content_hash, minhash_version)
);
CREATE TABLE IF NOT EXISTS band_index_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS band_probe (band_hash INTEGER PRIMARY KEY);
CREATE TEMP TABLE IF NOT EXISTS cluster_probe (cluster_id TEXT PRIMARY KEY);
CREATE TEMP TABLE IF NOT EXISTS article_probe (article_id TEXT PRIMARY KEY);
