-- One signature into the band index file (SQLite); one already there for the article's text is kept.
INSERT OR IGNORE INTO signature_index (article_id, content_hash, minhash_version, minhash) VALUES (?, ?, ?, ?)
