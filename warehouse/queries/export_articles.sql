-- Articles for the Parquet export, each with its partition: the published date (first seen when undated), UTC.
SELECT
    CAST(coalesce(a.published_at, a.first_seen_at) AS DATE) AS published_date,
    a.*
FROM articles AS a
