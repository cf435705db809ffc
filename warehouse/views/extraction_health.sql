-- Per page host and day: pages fetched, articles extracted, pages that gave no body or too short a body, the
-- median article length and the share of articles whose text a second extractor corrected. A template change
-- at a site shows as a jump in empty_or_short_share (the end-of-run drift check, transforms/drift.py).
CREATE OR REPLACE VIEW extraction_health AS
WITH fetched AS (
    SELECT
        lower(regexp_extract(url, '://([^/?#]+)', 1)) AS source,
        CAST(fetched_at AS DATE) AS day,
        count(*) AS pages_fetched
    FROM fetches
    WHERE kind IN ('page', 'warc') AND status BETWEEN 200 AND 299
    GROUP BY ALL
),
failed AS (
    SELECT
        lower(regexp_extract(url, '://([^/?#]+)', 1)) AS source,
        CAST(failed_at AS DATE) AS day,
        count(*) FILTER (WHERE reason = 'empty_extraction') AS empty,
        count(*) FILTER (WHERE reason = 'too_short') AS too_short
    FROM failures
    WHERE stage = 'extract'
    GROUP BY ALL
),
extracted AS (
    SELECT
        lower(regexp_extract(url, '://([^/?#]+)', 1)) AS source,
        CAST(first_seen_at AS DATE) AS day,
        count(*) AS extracted,
        median(word_count) AS median_words,
        count(*) FILTER (WHERE extractor <> 'trafilatura') AS second_opinion,
        count(extractor) AS with_extractor
    FROM articles
    GROUP BY ALL
)
SELECT
    source,                                                            -- host of the page URL fetched
    day,                                                               -- fetch (first seen) day, UTC
    coalesce(f.pages_fetched, 0) AS pages_fetched,                     -- pages answered 2xx
    coalesce(e.extracted, 0) AS extracted,                             -- new articles stored
    coalesce(x.empty, 0) AS empty,                                     -- pages with no body found
    coalesce(x.too_short, 0) AS too_short,                             -- bodies under 20 words after cleaning
    round((coalesce(x.empty, 0) + coalesce(x.too_short, 0)) / nullif(f.pages_fetched, 0), 3)
        AS empty_or_short_share,                                       -- share of the fetched pages
    CAST(e.median_words AS INTEGER) AS median_words,                   -- of the new articles
    round(e.second_opinion / nullif(e.with_extractor, 0), 3) AS second_opinion_share  -- text not trafilatura's alone
FROM fetched AS f
FULL JOIN failed AS x USING (source, day)
FULL JOIN extracted AS e USING (source, day);
