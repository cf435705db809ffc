-- When the page of each known article was last fetched: the latest successful page fetch that ended on its
-- final URL, else the time its current text was stored.
SELECT
    a.article_id,
    greatest(a.updated_at, coalesce(max(f.fetched_at), a.updated_at)) AS fetched_at
FROM articles AS a
JOIN known_articles AS k USING (article_id)
LEFT JOIN fetches AS f
    ON f.kind = 'page' AND f.status BETWEEN 200 AND 299 AND f.final_url = a.final_url
GROUP BY a.article_id, a.updated_at;
