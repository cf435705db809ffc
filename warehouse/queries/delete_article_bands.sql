-- Forget the band rows of articles whose text changed (their old dates bound the scan).
DELETE FROM article_bands
WHERE article_id IN (SELECT article_id FROM resigned_articles)
  AND dated_at BETWEEN $dated_from AND $dated_to;
