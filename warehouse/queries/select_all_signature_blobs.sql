-- Every stored signature with its text hash and version (the band index file's signature table is built from
-- them).
SELECT article_id, coalesce(content_hash, ''), minhash_version, minhash
FROM article_signatures
ORDER BY article_id;
