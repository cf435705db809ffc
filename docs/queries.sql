-- newsdesk: example queries for analysts. Every query here is run by tests/test_queries.py on the seeded
-- warehouse. Run one with `newsdesk sql "..."`, or open the snapshot in the DuckDB CLI:
--     duckdb -readonly data/news.read.duckdb
-- Stories are canonical articles (one per story: repeats and syndicated copies are in `duplicates`).
-- Days are published dates in UTC (first-seen dates for undated articles).

-- name: aleppo_stories_per_day
-- Distinct stories about Aleppo per published day.
SELECT day, stories
FROM topic_daily
WHERE topic_id = 'aleppo'
ORDER BY day;

-- name: topics_co_occurring_with_al_nusra
-- Which other topics the stories tagged Al-Nusra Front also carry, and in what share of them (world regions left
-- out: every Syria story is also a Middle East and an Asia story).
WITH nusra AS (
    SELECT DISTINCT t.article_id
    FROM article_topics AS t
    JOIN canonical_articles USING (article_id)
    WHERE t.topic_id = 'al-nusra-front'
)
SELECT
    topics.label,
    topics.kind,
    count(*) AS stories,
    round(count(*) / (SELECT count(*) FROM nusra), 2) AS share_of_nusra_stories
FROM nusra
JOIN article_topics AS other USING (article_id)
JOIN topics USING (topic_id)
WHERE other.topic_id <> 'al-nusra-front' AND topics.kind <> 'region'
GROUP BY ALL
ORDER BY stories DESC, topics.label
LIMIT 15;

-- name: first_outlet_per_syndicated_story
-- For each story carried by more than one page: the outlet that published it first, and how far it spread.
WITH pages AS (
    SELECT d.duplicate_of AS story_id, a.source, coalesce(a.published_at, a.first_seen_at) AS published_at
    FROM duplicates AS d
    JOIN articles AS a ON a.article_id = d.article_id
    UNION ALL
    SELECT c.article_id, c.source, coalesce(c.published_at, c.first_seen_at)
    FROM canonical_articles AS c
    WHERE c.article_id IN (SELECT duplicate_of FROM duplicates)
)
SELECT
    story.title,
    arg_min(pages.source, pages.published_at) AS first_outlet,
    min(pages.published_at) AS first_published_at,
    count(*) AS pages,
    count(DISTINCT pages.source) AS outlets
FROM pages
JOIN canonical_articles AS story ON story.article_id = pages.story_id
GROUP BY story.article_id, story.title
ORDER BY pages DESC, first_published_at;

-- name: feeds_that_went_silent
-- Feeds whose newest item is more than a week older than the newest item of any feed (or that never had one).
-- Measured against the warehouse's own newest item, so that it also works on archives and backfills.
WITH newest AS (
    SELECT max(last_item_published_at) AS newest_item_at FROM feed_health
)
SELECT
    feed_url,
    name,
    last_item_published_at,
    date_diff('day', last_item_published_at, newest_item_at) AS days_behind,
    last_status,
    consecutive_failures
FROM feed_health, newest
WHERE active
  AND (last_item_published_at IS NULL OR date_diff('day', last_item_published_at, newest_item_at) > 7)
ORDER BY days_behind DESC NULLS FIRST;

-- name: feed_health_overview
-- Poll outcomes per feed: 304 share, new items per poll, and how long after publication items are first seen.
SELECT
    name,
    last_success_at,
    consecutive_failures,
    polls,
    not_modified_share,
    failed_share,
    items_per_poll,
    median_publish_lag_min
FROM feed_health
ORDER BY failed_share DESC, name;

-- name: top_outlets_by_stories
-- Outlets by distinct stories, with how much of what they carried repeated a story already held.
SELECT
    source,
    sum(stories) AS stories,
    sum(repeats) AS repeats,
    round(sum(repeats) / sum(articles), 2) AS repeat_share,
    sum(words) AS words
FROM source_daily
GROUP BY source
ORDER BY stories DESC, source;

-- name: pages_versus_stories_per_week
-- Pages loaded against distinct stories per week: how much deduplication removes.
SELECT
    date_trunc('week', day) AS week,
    sum(articles) AS pages,
    sum(stories) AS stories,
    round(1 - sum(stories) / sum(articles), 3) AS removed_share
FROM source_daily
GROUP BY week
ORDER BY week;

-- name: weekly_stories_by_leading_topic
-- Distinct stories per week for the five topics (world regions aside) with the most stories, a column each.
WITH leading_topics AS (
    SELECT topic_id
    FROM topic_daily
    WHERE kind <> 'region'
    GROUP BY topic_id
    ORDER BY sum(stories) DESC, topic_id
    LIMIT 5
)
PIVOT (
    SELECT date_trunc('week', day) AS week, label, stories
    FROM topic_daily
    WHERE topic_id IN (SELECT topic_id FROM leading_topics)
) ON label USING sum(stories) GROUP BY week ORDER BY week;

-- name: biggest_story_clusters
-- The stories repeated by the most pages, with the methods that found the repeats.
SELECT
    c.title,
    c.source,
    CAST(c.published_at AS DATE) AS published,
    1 + count(*) AS pages,
    string_agg(DISTINCT d.method, ', ') AS found_by,
    round(min(d.similarity), 2) AS least_similar
FROM duplicates AS d
JOIN canonical_articles AS c ON c.article_id = d.duplicate_of
GROUP BY c.article_id, c.title, c.source, c.published_at
ORDER BY pages DESC, published
LIMIT 20;

-- name: open_failures_by_reason
-- What did not make it into the warehouse and is not resolved yet, grouped by stage and reason.
SELECT
    stage,
    reason,
    count(*) AS failures,
    count(DISTINCT coalesce(feed_url, url)) AS sources,
    max(failed_at) AS last_failed_at,
    any_value(detail) AS example
FROM failures
WHERE resolved_at IS NULL
GROUP BY stage, reason
ORDER BY failures DESC, stage, reason;

-- name: recent_runs
-- The last ingest runs: how long they took, what they loaded and how many things failed.
SELECT
    started_at,
    flow,
    status,
    round(epoch(finished_at) - epoch(started_at), 1) AS seconds,
    counts ->> 'loaded_articles' AS articles_loaded,
    (SELECT sum(CAST(value AS INTEGER)) FROM json_each(runs.failures)) AS failures
FROM runs
ORDER BY started_at DESC
LIMIT 10;

-- name: undated_articles_by_outlet
-- Data quality: articles without a published date (they are placed on the day they were first seen).
SELECT
    source,
    count(*) AS articles,
    count(*) FILTER (WHERE published_at IS NULL) AS undated,
    round(count(*) FILTER (WHERE published_at IS NULL) / count(*), 3) AS undated_share
FROM articles
GROUP BY source
ORDER BY undated_share DESC, source;

-- name: full_text_search
-- BM25 search over title + text, stories with every word first. The search_ranked macro is made in every
-- `newsdesk sql` session (and by `newsdesk shell`); see docs/lake.md, "Search".
SELECT
    c.title,
    c.source,
    CAST(c.published_at AS DATE) AS published,
    round(s.score, 3) AS score
FROM search_ranked('Aleppo offensive Nusra') AS s
JOIN canonical_articles AS c USING (article_id)
ORDER BY s.has_all_words DESC, s.score DESC
LIMIT 10;

-- name: desk_outlets_by_feed_tag
-- One desk's outlets: articles and distinct stories from the feeds tagged 'syria-desk' (`tags:` in the sources
-- file, `newsdesk feeds add|set --tag`, or an OPML folder), per outlet.
SELECT
    source,
    sum(articles) AS articles,
    sum(stories) AS stories,
    min(day) AS first_day,
    max(day) AS last_day
FROM source_daily_by_tag
WHERE tag = 'syria-desk'
GROUP BY source
ORDER BY stories DESC, source;
