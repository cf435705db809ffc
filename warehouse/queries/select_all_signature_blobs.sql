-- Every stored signature with its text hash and version (the band index file's signature table is built from
-- them). Unsorted: sorting the 512-byte signatures would not fit a load's memory cap (64 MB) at 1M articles.
SELECT article_id, coalesce(content_hash, ''), minhash_version, minhash
FROM article_signatures;
