-- source_daily for the articles of tagged feeds: one row per feed tag, outlet and published day. An article counts
-- under every tag of every feed that linked it (articles.feed_url and its article_refs); filter with
-- `WHERE tag = 'syria-desk'`. Feeds get tags from `newsdesk feeds add|set --tag`, OPML folders or `tags:` in the
-- sources file.
CREATE OR REPLACE VIEW source_daily_by_tag AS
WITH feed_articles AS (
    SELECT article_id, feed_url FROM articles WHERE feed_url IS NOT NULL
    UNION
    SELECT article_id, feed_url FROM article_refs
),
tagged AS (
    SELECT DISTINCT f.article_id, t.tag
    FROM feed_articles AS f
    JOIN feed_tags AS t USING (feed_url)
),
pages AS (
    SELECT
        tagged.tag,
        CAST(coalesce(a.published_at, a.first_seen_at) AS DATE) AS day,
        a.source,
        a.word_count,
        d.article_id IS NOT NULL AS is_repeat
    FROM tagged
    JOIN articles AS a USING (article_id)
    LEFT JOIN duplicates AS d USING (article_id)
)
SELECT
    tag,                                                     -- feed tag
    day,                                                     -- published date (first seen when undated), UTC
    source,                                                  -- outlet host
    count(*) AS articles,                                    -- pages loaded
    count(*) FILTER (WHERE NOT is_repeat) AS stories,        -- of which distinct stories (canonical articles)
    count(*) FILTER (WHERE is_repeat) AS repeats,            -- of which copies of a story already held
    sum(word_count) AS words,
    CAST(median(word_count) AS INTEGER) AS median_words
FROM pages
GROUP BY ALL;
