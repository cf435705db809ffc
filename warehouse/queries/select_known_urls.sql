-- Canonical URLs among the candidates that already belong to a stored article.
SELECT c.canonical_url, a.article_id
FROM candidate_urls AS c
JOIN articles AS a ON a.canonical_url = c.canonical_url;
