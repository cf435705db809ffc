-- Schema version 13: one row per single-file warehouse moved into the lake by `newsdesk migrate --from`, so that
-- moving the same file again is recognised (by its digest) and skipped. Append-only, like the lake's other tables.
CREATE TABLE moved_warehouses (
    source_path    VARCHAR NOT NULL,    -- the old file, absolute, as it was when moved
    source_digest  VARCHAR NOT NULL,    -- sha256 of the file (and of its .wal, when there was one)
    source_bytes   BIGINT NOT NULL,
    source_mtime   TIMESTAMP NOT NULL,  -- UTC
    source_version INTEGER NOT NULL,    -- its schema version (1-10) before the move
    replaced       BOOLEAN NOT NULL,    -- the lake's rows were replaced (--replace), not added to an empty lake
    moved_at       TIMESTAMP NOT NULL,  -- UTC
    counts         JSON NOT NULL        -- {"table": rows copied, ...}
);
