-- For the sites of a batch (registered as batch_sites), each line seen on at least $min_pages distinct pages
-- since $since, with that number of pages.
SELECT s.site, s.line_hash, count(DISTINCT s.article_id) AS pages
FROM site_lines AS s
SEMI JOIN batch_sites AS b ON b.site = s.site
WHERE s.seen_at >= $since
GROUP BY s.site, s.line_hash
HAVING count(DISTINCT s.article_id) >= $min_pages
ORDER BY s.site, s.line_hash;
