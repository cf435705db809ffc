-- What a search shows of each ranked article. Parameter: $article_ids (VARCHAR[]).
SELECT article_id, title, "source", published_at, canonical_url, "text"
FROM canonical_articles
WHERE article_id IN (SELECT unnest($article_ids))
QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY updated_at DESC) = 1;
