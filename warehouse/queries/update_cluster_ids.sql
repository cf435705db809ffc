-- New cluster ids of members whose group changed (merged, split or joined); {spans} (near_dupes.run_in_spans:
-- ranges of their dates) bounds the scan.
UPDATE article_signatures SET cluster_id = c.cluster_id
FROM cluster_changes AS c
WHERE article_signatures.article_id = c.article_id
  AND {spans};
