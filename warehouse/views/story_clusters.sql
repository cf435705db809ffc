-- One row per story: a cluster of near-duplicate articles (a lone article is a cluster of one), its canonical
-- article, how many pages and outlets carried it, when it was first seen and where it came from.
CREATE OR REPLACE VIEW story_clusters AS
WITH members AS (
    SELECT
        s.cluster_id,
        s.article_id,
        s.source,
        s.wire_credit,
        s.published_at,
        s.dated_at,
        a.first_seen_at,
        d.article_id IS NULL AS is_canonical
    FROM article_signatures AS s
    JOIN articles AS a USING (article_id)
    LEFT JOIN duplicates AS d
        ON d.article_id = s.article_id AND d.method IN ('content_hash', 'near_duplicate')
),
stories AS (
    SELECT
        cluster_id,
        any_value(article_id) FILTER (WHERE is_canonical) AS canonical_id,
        count(*) AS members,
        count(DISTINCT source) AS outlet_count,
        list(DISTINCT source ORDER BY source) AS outlets,
        min(first_seen_at) AS first_seen_at,
        min(published_at) AS first_published_at,
        any_value(wire_credit) FILTER (WHERE is_canonical) AS canonical_credit,
        arg_min(wire_credit, dated_at) FILTER (WHERE wire_credit IS NOT NULL) AS earliest_credit
    FROM members
    GROUP BY cluster_id
)
SELECT
    s.cluster_id,                                          -- smallest article id of the cluster
    s.canonical_id,                                        -- earliest published member (ties: longest text)
    c.title AS canonical_title,
    c.canonical_url,
    s.members,                                             -- articles (pages with their own text) in the story
    s.outlet_count,                                        -- distinct outlets among them
    s.outlets,                                             -- their hosts, sorted
    s.first_seen_at,                                       -- when newsdesk first stored one of them
    s.first_published_at,                                  -- earliest published date among them
    c.source AS origin_source,                             -- outlet of the canonical member: the first publisher
    coalesce(s.canonical_credit, s.earliest_credit) AS wire_credit  -- agency credited (AP, Reuters, ...), if any
FROM stories AS s
LEFT JOIN articles AS c ON c.article_id = s.canonical_id;
