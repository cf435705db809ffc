-- One row per story carried by more than one article (page with its own text): the rows of story_clusters
-- that are clusters, not lone articles. Repeats of one URL (method 'url') are not articles and do not count.
CREATE OR REPLACE VIEW syndicated_stories AS
WITH clusters AS (
    SELECT *
    FROM story_clusters
    WHERE members > 1
)
SELECT
    cluster_id,           -- smallest article id of the cluster
    canonical_id,         -- earliest published member (ties: longest text)
    canonical_title,      -- the canonical member's title
    canonical_url,        -- the canonical member's URL
    members,              -- articles in the story, 2 or more
    outlet_count,         -- distinct outlets among them (1 when one outlet ran it on several pages)
    outlets,              -- their hosts, sorted
    first_seen_at,        -- when newsdesk first stored one of them
    first_published_at,   -- earliest published date among them
    origin_source,        -- outlet of the canonical member: the first publisher
    wire_credit           -- agency credited (AP, Reuters, ...), if any
FROM clusters;
