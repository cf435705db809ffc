-- Documents indexed since this time (a day before the newest batch) may miss from search_replaced: see
-- search_insert_replaced.
SELECT coalesce(max(indexed_at), TIMESTAMP '1970-01-01') - INTERVAL 1 DAY FROM search_stats;
