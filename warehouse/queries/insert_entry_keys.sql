-- The keys of the entries a batch inserted (registered as keyed_entries), appended to entry_keys in the
-- batch's transaction (migration 0018 says why).
INSERT INTO entry_keys (entry_key)
SELECT DISTINCT md5_number_upper(feed_url || chr(31) || guid)
FROM keyed_entries;
