-- The keys of every stored entry, for a warehouse whose entries came without them (`migrate --from` a file
-- older than migration 0018, into an empty lake).
INSERT INTO entry_keys (entry_key)
SELECT md5_number_upper(feed_url || chr(31) || guid)
FROM entries;
