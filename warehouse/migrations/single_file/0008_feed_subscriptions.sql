-- Feeds as a subscription list (docs/fetching.md, "Building the feed list"): who owns each feed's settings,
-- whether it is paused or removed, its site, the OPML outline attributes newsdesk does not map, and its tags.
-- Every column is added with a default so that existing feeds read as sources-file feeds still subscribed.
ALTER TABLE feeds ADD COLUMN origin VARCHAR DEFAULT 'sources';        -- sources | added | imported
ALTER TABLE feeds ADD COLUMN subscription VARCHAR DEFAULT 'subscribed';  -- subscribed | paused | removed
ALTER TABLE feeds ADD COLUMN subscription_changed_at TIMESTAMP;       -- last pause, resume, remove or re-add
ALTER TABLE feeds ADD COLUMN html_url VARCHAR;                        -- the site (OPML htmlUrl, or the page discovery began at)
ALTER TABLE feeds ADD COLUMN outline_attributes JSON;                 -- OPML attributes kept as found, written back on export

-- A feed's tags ("syria-desk"); source_daily_by_tag and topic_daily_by_tag count the tagged feeds' articles.
CREATE TABLE feed_tags (
    feed_url VARCHAR NOT NULL,
    tag      VARCHAR NOT NULL,
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (feed_url, tag)
);
