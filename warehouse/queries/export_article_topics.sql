-- Topic tags for the Parquet export, partitioned by their article's published date; evidence as JSON text.
SELECT
    CAST(coalesce(a.published_at, a.first_seen_at) AS DATE) AS published_date,
    t.* REPLACE (CAST(t.evidence AS VARCHAR) AS evidence)
FROM article_topics AS t
JOIN articles AS a USING (article_id)
