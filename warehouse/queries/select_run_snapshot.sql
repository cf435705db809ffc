-- The lake snapshot a run recorded when it ended (NULL while it runs); no row for an unknown run id.
SELECT lake_snapshot FROM runs WHERE run_id = $run_id;
