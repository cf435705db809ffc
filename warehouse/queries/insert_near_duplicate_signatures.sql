-- Signatures of the batch's articles; an article already signed keeps its row. Returns the ids stored now.
INSERT INTO article_signatures (
    article_id, cluster_id, dated_at, published_at, text_chars, content_hash, source, wire_credit, minhash,
    minhash_version, signed_at
)
SELECT
    article_id, article_id, dated_at, published_at, text_chars, content_hash, source, wire_credit, minhash,
    minhash_version, signed_at
FROM batch_signatures
ON CONFLICT DO NOTHING
RETURNING article_id;
