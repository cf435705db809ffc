-- One band row into the band index (SQLite); a row already there is kept.
INSERT OR IGNORE INTO band_index (band_hash, article_id, dated_at) VALUES (?, ?, ?)
