-- Duplicate marks of the touched clusters' members: exact copies and near-duplicates (URL aliases are left).
SELECT d.article_id, d.duplicate_of, d.method, d.similarity
FROM duplicates AS d
JOIN cluster_members AS m ON m.article_id = d.article_id;
