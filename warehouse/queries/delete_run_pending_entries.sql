-- The pending entries of the run's feeds (run_feeds), about to be replaced by the run's plan of them.
DELETE FROM pending_entries WHERE feed_url IN (SELECT feed_url FROM run_feeds);
