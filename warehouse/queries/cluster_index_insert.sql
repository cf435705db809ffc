-- One cluster membership row into the band index file (SQLite); a row already there is kept.
INSERT OR IGNORE INTO cluster_index (cluster_id, article_id, dated_at, url) VALUES (?, ?, ?, ?)
