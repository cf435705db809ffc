-- Signatures of the batch's articles not signed yet (one row per article_id): store_signatures keeps only those
-- select_unsigned_batch_ids found in the same transaction, so an article already signed keeps its row and
-- article_id stays unique (no key since migration 0004) without a second scan of the stored ids.
INSERT INTO article_signatures (
    article_id, cluster_id, dated_at, published_at, text_chars, content_hash, source, wire_credit, minhash,
    minhash_version, signed_at
)
SELECT
    b.article_id, b.article_id, b.dated_at, b.published_at, b.text_chars, b.content_hash, b.source,
    b.wire_credit, b.minhash, b.minhash_version, b.signed_at
FROM unsigned_signatures AS b;
