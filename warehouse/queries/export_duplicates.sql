-- Duplicate records for the Parquet export, partitioned by the published date of the article they repeat.
SELECT
    CAST(coalesce(a.published_at, a.first_seen_at, d.detected_at) AS DATE) AS published_date,
    d.*
FROM duplicates AS d
LEFT JOIN articles AS a ON a.article_id = d.duplicate_of
