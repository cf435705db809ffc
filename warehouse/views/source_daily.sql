-- Per outlet and published day: pages loaded, distinct stories among them, repeats, and words.
CREATE OR REPLACE VIEW source_daily AS
WITH pages AS (
    SELECT
        CAST(coalesce(a.published_at, a.first_seen_at) AS DATE) AS day,
        a.source,
        a.article_id,
        a.word_count,
        d.article_id IS NOT NULL AS is_repeat
    FROM articles AS a
    LEFT JOIN duplicates AS d USING (article_id)
)
SELECT
    day,                                                     -- published date (first seen when undated), UTC
    source,                                                  -- outlet host
    count(*) AS articles,                                    -- pages loaded
    count(*) FILTER (WHERE NOT is_repeat) AS stories,        -- of which distinct stories (canonical articles)
    count(*) FILTER (WHERE is_repeat) AS repeats,            -- of which copies of a story already held
    sum(word_count) AS words,
    CAST(median(word_count) AS INTEGER) AS median_words
FROM pages
GROUP BY ALL;
