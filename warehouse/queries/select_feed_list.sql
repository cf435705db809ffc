-- Every feed still in the list (paused ones included) with its tags, as `newsdesk feeds export` writes it.
SELECT
    f.feed_url,
    f.name,
    f.title,
    f.language,
    f.html_url,
    f.poll_every_s,
    f.origin,
    f.subscription,
    CAST(f.outline_attributes AS VARCHAR) AS outline_attributes,
    coalesce(list(t.tag ORDER BY t.tag) FILTER (WHERE t.tag IS NOT NULL), []) AS tags
FROM feeds AS f
LEFT JOIN feed_tags AS t USING (feed_url)
WHERE f.subscription <> 'removed'
GROUP BY ALL
ORDER BY f.feed_url;
