-- What a search shows of each ranked article. The first_seen_at filter (a few values, pushed into the scan)
-- lets the reader skip every row group of articles first seen at other times: the text column is the bulk.
-- Parameters: $article_ids (VARCHAR[]), $first_seen (TIMESTAMP[]).
SELECT article_id, title, "source", published_at, canonical_url, "text"
FROM canonical_articles
WHERE first_seen_at IN (SELECT unnest($first_seen)) AND article_id IN (SELECT unnest($article_ids))
QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY updated_at DESC) = 1;
