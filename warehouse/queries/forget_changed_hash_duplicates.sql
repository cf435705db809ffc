-- Content-hash duplicate marks of rebuilt articles whose text hash changed: recomputed after the update.
DELETE FROM duplicates
WHERE method = 'content_hash'
  AND article_id IN (SELECT article_id FROM changed_articles);
