-- The topics with the most distinct stories (canonical articles), the best $per_kind of each kind, ranked by
-- kind: themes, organisations, people, cities, countries, then regions. A story tagged with a place is also
-- tagged with its parents, so continents (kind region) would otherwise top every list.
WITH counted AS (
    SELECT
        tp.kind,
        t.topic_id,
        coalesce(tp.label, t.topic_id) AS label,
        count(DISTINCT t.article_id) AS stories
    FROM article_topics AS t
    JOIN canonical_articles AS c USING (article_id)
    LEFT JOIN topics AS tp USING (topic_id)
    GROUP BY ALL
)
SELECT kind, topic_id, label, stories
FROM counted
QUALIFY row_number() OVER (PARTITION BY kind ORDER BY stories DESC, topic_id) <= $per_kind
ORDER BY
    coalesce(list_position(['theme', 'org', 'person', 'city', 'country', 'region'], kind), 99),
    kind,
    stories DESC,
    topic_id;
