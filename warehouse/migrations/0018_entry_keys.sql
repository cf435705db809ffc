-- Schema version 18: a narrow key table beside `entries`, as article_keys (0017) is beside `articles`: a batch's
-- load finds which of its feed entries may be stored by scanning one integer column, not the 1M-row feed_url and
-- guid strings (warehouse/entry_keys.py). Each key is md5_number_upper(feed_url || chr(31) || guid). Append-only
-- and a superset: the load adds the keys of the entries it inserts, in the same transaction; two entries sharing
-- a key only send the load to compare the strings themselves.
CREATE TABLE entry_keys (
    entry_key UBIGINT NOT NULL   -- md5_number_upper(feed_url || chr(31) || guid)
);

INSERT INTO entry_keys
SELECT md5_number_upper(feed_url || chr(31) || guid)
FROM entries;
