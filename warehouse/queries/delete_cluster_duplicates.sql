-- Canonical members (and members left alone after a split) are no longer anyone's duplicate.
DELETE FROM duplicates
WHERE article_id IN (SELECT article_id FROM cluster_canonicals)
  AND method IN ('content_hash', 'near_duplicate');
