-- Record one single-file warehouse moved into the lake (in the move's own transaction).
INSERT INTO moved_warehouses
    (source_path, source_digest, source_bytes, source_mtime, source_version, replaced, moved_at, counts)
VALUES ($path, $digest, $bytes, $mtime, $version, $replaced, $moved_at, $counts);
