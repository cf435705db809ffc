-- The batch's entries (feed_url, guid) whose key is in entry_keys: every stored one, and (rarely) one whose
-- 64-bit key another entry shares. Reads one integer column, not the entries' strings (migration 0018).
SELECT DISTINCT b.feed_url, b.guid
FROM batch_entry_keys AS b
JOIN entry_keys AS k ON k.entry_key = md5_number_upper(b.feed_url || chr(31) || b.guid);
