-- Signatures of the batch's articles (one row per article_id); an article already signed keeps its row.
-- An anti-join keeps article_id unique (no key since migration 0004).
INSERT INTO article_signatures (
    article_id, cluster_id, dated_at, published_at, text_chars, content_hash, source, wire_credit, minhash,
    minhash_version, signed_at
)
SELECT
    b.article_id, b.article_id, b.dated_at, b.published_at, b.text_chars, b.content_hash, b.source,
    b.wire_credit, b.minhash, b.minhash_version, b.signed_at
FROM batch_signatures AS b
ANTI JOIN article_signatures AS s ON s.article_id = b.article_id;
