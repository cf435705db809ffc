-- Stored raw pages fetched in [$day_start, $day_end) with the article built from each and the feed entry that
-- led to it, where the article was built by another extractor or cleaner version (every one with $force).
SELECT
    r.url,
    r.final_url,
    r.body_compressed,
    r.body_codec,
    r.body_file,
    r.fetched_at,
    a.article_id,
    a.feed_url,
    e.guid,
    e.title AS entry_title,
    e.published_at AS entry_published_at
FROM raw_pages AS r
JOIN articles AS a ON a.url = r.url
LEFT JOIN entries AS e ON e.feed_url = a.feed_url AND e.link = r.url
WHERE r.fetched_at >= $day_start
  AND r.fetched_at < $day_end
  AND ($force OR a.extractor_version <> $extractor_version OR a.cleaner_version <> $cleaner_version)
QUALIFY row_number() OVER (PARTITION BY r.url ORDER BY e.first_seen_at NULLS LAST, e.guid) = 1
ORDER BY r.url;
